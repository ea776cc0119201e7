package modemsim

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// maxCommandLine is the longest command line the emulated firmware
// accepts; longer lines answer ERROR.
const maxCommandLine = 2048

// hostReader reads the host->modem line for the command loop: lines ended
// by CR, and raw data after a prompt.
type hostReader struct {
	s   *Sim
	buf []byte
	pos int
	tmp [512]byte
}

// fill reads more from the line; abort (nil outside a prompt) ends the wait
// with errAborted.
func (r *hostReader) fill(abort <-chan struct{}) error {
	n, err := r.s.fromHost.readOr(r.tmp[:], r.s.done, abort)
	if errors.Is(err, errAborted) {
		return err
	}
	if err != nil {
		return errClosed
	}
	// A hung USB port (Stall) holds what the host writes and hands it to
	// the modem when it comes back.
	if !r.s.out.holdInput(r.s.done) {
		return errClosed
	}
	select {
	case <-abort: // rebooted meanwhile: the bytes are lost with the command
		return errAborted
	default:
	}
	r.s.tr.record(ToModem, r.tmp[:n])
	r.buf = append(r.buf[:0], r.tmp[:n]...)
	r.pos = 0
	return nil
}

func (r *hostReader) byte() (byte, error) {
	for r.pos >= len(r.buf) {
		if err := r.fill(nil); err != nil {
			return 0, err
		}
	}
	c := r.buf[r.pos]
	r.pos++
	return c, nil
}

// line reads one command line: up to CR, LF ignored, backspace edits, NUL
// dropped. tooLong is set when the line exceeded maxCommandLine.
func (r *hostReader) line() (line string, tooLong bool, err error) {
	var b []byte
	for {
		c, err := r.byte()
		if err != nil {
			return "", false, err
		}
		switch c {
		case '\r':
			return string(b), tooLong, nil
		case '\n', 0:
		case '\b', 0x7f:
			if len(b) > 0 {
				b = b[:len(b)-1]
			}
		default:
			if len(b) >= maxCommandLine {
				tooLong = true
				continue
			}
			b = append(b, c)
		}
	}
}

// data reads exactly n raw bytes; a reboot meanwhile (abort) ends it with
// errAborted.
func (r *hostReader) data(n int, abort <-chan struct{}) ([]byte, error) {
	out := make([]byte, 0, n)
	for len(out) < n {
		if r.pos >= len(r.buf) {
			if err := r.fill(abort); err != nil {
				return nil, err
			}
		}
		k := min(n-len(out), len(r.buf)-r.pos)
		out = append(out, r.buf[r.pos:r.pos+k]...)
		r.pos += k
	}
	return out, nil
}

// reply collects the answer of one command.
type reply struct {
	s       *Sim
	buf     bytes.Buffer
	drop    bool // DropNextAnswer: nothing is written
	corrupt bool // BusyCorrupt: written at once, inside a stream
	info    int  // information lines since the last flush
}

// line adds an information line.
func (r *reply) line(s string) {
	if r.info == 0 {
		r.buf.WriteString("\r\n")
	}
	r.buf.WriteString(s)
	r.buf.WriteString("\r\n")
	r.info++
}

// final adds a final result (OK, ERROR) and flushes.
func (r *reply) final(s string) {
	r.buf.WriteString("\r\n" + s + "\r\n")
	r.info = 0
	r.flush()
}

func (r *reply) ok()    { r.final("OK") }
func (r *reply) error() { r.final("ERROR") }

// codeError answers "+<CMD>: <idx>,<code>" then ERROR (the manuals' failed
// form c).
func (r *reply) codeError(name string, idx int, code simcom.ResultCode) {
	r.line(name + ": " + strconv.Itoa(idx) + "," + strconv.Itoa(int(r.s.d.code(code))))
	r.error()
}

// flush hands what was collected to the writer.
func (r *reply) flush() {
	if r.buf.Len() == 0 {
		return
	}
	b := bytes.Clone(r.buf.Bytes())
	r.buf.Reset()
	switch {
	case r.drop:
	case r.corrupt:
		r.s.out.corrupt(b)
	default:
		r.s.out.answer(b)
	}
}

// prompt writes the data prompt and reads exactly n bytes of data.
func (r *reply) prompt(n int) ([]byte, error) {
	r.buf.WriteString("\r\n>")
	if r.s.cfg.PromptSpace {
		r.buf.WriteByte(' ')
	}
	r.info = 0
	// abort is taken before the prompt goes out: a reboot once the host
	// may have seen the prompt must end this wait, not the next one.
	r.s.mu.Lock()
	abort, echo := r.s.abort, r.s.st.echo && r.s.cfg.EchoData
	r.s.mu.Unlock()
	r.flush()
	data, err := r.s.in.data(n, abort)
	if err == nil && echo {
		r.buf.Write(data)
		r.flush()
	}
	return data, err
}

// serve is the command loop: one command at a time, like the firmware.
func (s *Sim) serve() {
	for {
		line, tooLong, err := s.in.line()
		if err != nil {
			return
		}
		if s.swallowed(strings.TrimSpace(line) != "") {
			s.log.Debug("modemsim: line lost while booting", "bytes", len(line))
			continue
		}
		s.echo(line)
		if err := s.handleLine(line, tooLong); err != nil {
			return
		}
	}
}

// echo writes the echo of a command line read: first the late echo of the
// line before (LateEcho), then this line's, unless it is to come late too.
func (s *Sim) echo(line string) {
	s.mu.Lock()
	late := s.lateEcho
	s.lateEcho = nil
	now := s.st.echo
	if now && s.lateLines > 0 {
		s.lateLines--
		s.lateEcho, now = []byte(line+"\r"), false
	}
	s.mu.Unlock()
	if late != nil {
		s.out.answer(late)
	}
	if now {
		s.out.answer([]byte(line + "\r"))
	}
}

// handleLine runs one command line.
func (s *Sim) handleLine(line string, tooLong bool) error {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	cmd, perr := parseCommandLine(line)
	if errors.Is(perr, errNotAT) && !tooLong {
		s.log.Debug("modemsim: ignored line without AT", "line", line)
		return nil
	}
	s.out.begin()
	defer s.out.end()
	r := &reply{s: s}
	s.mu.Lock()
	r.drop, s.drop = s.drop, false
	busy := s.busy
	s.mu.Unlock()
	if !s.sleep(s.cfg.Latency) {
		return errClosed
	}
	if s.out.isStreaming() {
		switch busy {
		case BusyReject:
			s.rejectBusy(cmd, perr == nil, r)
			return nil
		case BusyCorrupt:
			r.corrupt = true
		}
	}
	if perr != nil || tooLong {
		r.error()
		return nil
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) { // redact builds a string
		s.log.Debug("modemsim: command", "cmd", redact(cmd))
	}
	err := s.dispatch(cmd, r)
	if errors.Is(err, errClosed) {
		return err
	}
	return nil
}

// rejectBusy answers a command that arrived while a message streamed in.
func (s *Sim) rejectBusy(cmd atCommand, parsed bool, r *reply) {
	if parsed && strings.HasPrefix(cmd.Name, "+CMQTT") && cmd.Form == formWrite && len(cmd.Params) > 0 {
		if idx, ok := cmd.Params[0].int(); ok && idx < clientCount {
			r.codeError(cmd.Name, idx, simcom.CodeClientBusy)
			return
		}
	}
	r.error()
}

// redact hides the password of AT+CMQTTCONNECT in logs.
func redact(c atCommand) string {
	if c.Name == "+CMQTTCONNECT" && len(c.Params) >= 6 {
		c.Params = append([]atParam(nil), c.Params...)
		c.Params[5] = atParam{Text: "***", Quoted: true}
	}
	return c.String()
}

// handler runs one command; errClosed stops the loop.
type handler func(s *Sim, c atCommand, r *reply) error

// dispatch finds the command's handler.
func (s *Sim) dispatch(c atCommand, r *reply) error {
	if c.Form == formTest {
		if lines, ok := s.testForm(c.Name); ok {
			for _, l := range lines {
				r.line(l)
			}
			r.ok()
			return nil
		}
	}
	h, ok := s.handlers()[c.Name]
	if !ok {
		r.error()
		return nil
	}
	return h(s, c, r)
}

// testForm returns the test answer of the command on this model.
func (s *Sim) testForm(name string) ([]string, bool) {
	if lines, ok := versionTestForm(s.d, name); ok {
		return lines, true
	}
	if lines, ok := testForms[s.d.model][name]; ok {
		return lines, true
	}
	lines, ok := basicTestForms[name]
	return lines, ok
}

// handlers is the command table of the model.
func (s *Sim) handlers() map[string]handler {
	if s.d.model == simcom.SIM7600 {
		return sim7600Handlers
	}
	return a7600Handlers
}

var a7600Handlers, sim7600Handlers map[string]handler

func init() {
	common := map[string]handler{}
	for name, h := range basicHandlers {
		common[name] = h
	}
	for name, h := range mqttHandlers {
		common[name] = h
	}
	for name, h := range sslHandlers {
		common[name] = h
	}
	a7600Handlers = map[string]handler{"+CCERTDELE": cmdCertDelete}
	sim7600Handlers = map[string]handler{"+CCERTDELETE": cmdCertDelete}
	for name, h := range common {
		a7600Handlers[name] = h
		sim7600Handlers[name] = h
	}
}
