package atmodem

import "bytes"

// Framing limits. They bound the memory the reader uses whatever it reads.
const (
	// maxLineLen is the longest line kept; the rest of a longer line is
	// dropped (the manuals' longest answers are far shorter).
	maxLineLen = 4096
	// maxDataLen is the largest length-delimited block accepted after
	// +CMQTTRXTOPIC / +CMQTTRXPAYLOAD: the manuals' payload limit.
	maxDataLen = 10240
)

// frameKind says what the framer found.
type frameKind uint8

const (
	// frameLine is one line without its line end.
	frameLine frameKind = iota + 1
	// framePrompt is the data prompt '>' of a command waiting for its data.
	framePrompt
	// frameData is the raw block announced by a +CMQTTRXTOPIC or
	// +CMQTTRXPAYLOAD header line (which came as a frameLine just before).
	frameData
)

// frame is one unit of the modem's output. line and data are only valid
// during the callback that receives them.
type frame struct {
	kind frameKind
	line []byte
	data []byte
}

// framer splits the modem's byte stream into lines, '>' prompts and
// length-delimited data blocks. It is fed by the reader goroutine only.
//
// Lines end with CRLF, a lone CR or a lone LF; empty lines are skipped; NUL
// bytes outside data are dropped. A '>' at the start of a line is a prompt
// when promptWanted says a command waits for one (then one following space
// is swallowed, and an echo of the data written after it is skipped). After
// a "+CMQTTRXTOPIC: i,n" or "+CMQTTRXPAYLOAD: i,n" line, exactly n bytes are
// read as data whatever they contain.
type framer struct {
	line         []byte
	overflow     bool // the current line exceeded maxLineLen
	pendingLF    bool // the last line ended with CR: swallow one LF
	swallowSpace bool // a prompt was seen: swallow one ' '
	need         int  // data bytes still to read; >0 means data mode
	data         []byte

	echo    []byte // data written after a prompt, whose echo is skipped
	echoPos int    // bytes of echo matched so far

	promptWanted func() ([]byte, bool)
	// learnEcho is told, at the first byte after a prompt where an echo was
	// expected, whether the modem echoes data (nil: nobody listens).
	learnEcho func(echoes bool)

	dropped int // bytes of over-long lines dropped (for the trace)
}

func (f *framer) init(promptWanted func() ([]byte, bool)) {
	f.line = make([]byte, 0, 256)
	f.data = make([]byte, 0, 1500)
	f.promptWanted = promptWanted
}

// feed frames p and calls emit for every complete frame.
func (f *framer) feed(p []byte, emit func(frame)) {
	for len(p) > 0 {
		if f.need > 0 {
			p = f.feedData(p, emit)
			continue
		}
		if f.echo != nil {
			p = f.feedEcho(p, emit)
			continue
		}
		f.feedByte(p[0], emit)
		p = p[1:]
	}
}

// cut abandons the data block being read (it was cut short) and returns the
// bytes read of it; they stay valid until the next feed.
func (f *framer) cut() []byte {
	got := f.data
	f.need, f.data = 0, f.data[:0]
	f.pendingLF = false
	return got
}

// feedData copies data bytes; a CRLF that ends the header line is skipped
// first.
func (f *framer) feedData(p []byte, emit func(frame)) []byte {
	if f.pendingLF {
		f.pendingLF = false
		if p[0] == '\n' {
			return p[1:]
		}
	}
	n := min(f.need, len(p))
	f.data = append(f.data, p[:n]...)
	f.need -= n
	if f.need == 0 {
		emit(frame{kind: frameData, data: f.data})
		f.data = f.data[:0]
	}
	return p[n:]
}

// feedEcho skips an echo of the data written after a prompt. When the
// stream stops matching, the bytes matched so far are framed normally.
func (f *framer) feedEcho(p []byte, emit func(frame)) []byte {
	if f.swallowSpace && f.echoPos == 0 && p[0] == ' ' && (len(f.echo) == 0 || f.echo[0] != ' ') {
		f.swallowSpace = false
		return p[1:]
	}
	f.swallowSpace = false
	if f.echoPos == 0 && f.learnEcho != nil {
		f.learnEcho(p[0] == f.echo[0])
	}
	for i, b := range p {
		if b != f.echo[f.echoPos] {
			held := f.echo[:f.echoPos]
			f.echo, f.echoPos = nil, 0
			f.feed(held, emit)
			return p[i:]
		}
		f.echoPos++
		if f.echoPos == len(f.echo) {
			f.echo, f.echoPos = nil, 0
			return p[i+1:]
		}
	}
	return nil
}

// feedByte frames one byte outside data and echo.
func (f *framer) feedByte(b byte, emit func(frame)) {
	switch b {
	case '\r':
		f.endLine(emit)
		f.pendingLF = true
		return
	case '\n':
		if f.pendingLF {
			f.pendingLF = false
			return
		}
		f.endLine(emit)
		return
	case 0:
		f.pendingLF = false
		return
	}
	f.pendingLF = false
	if f.swallowSpace {
		f.swallowSpace = false
		if b == ' ' {
			return
		}
	}
	if b == '>' && len(f.line) == 0 && !f.overflow && f.promptWanted != nil {
		if echo, ok := f.promptWanted(); ok {
			emit(frame{kind: framePrompt})
			f.swallowSpace = true
			if len(echo) > 0 {
				f.echo, f.echoPos = echo, 0
			}
			return
		}
	}
	if len(f.line) >= maxLineLen {
		f.overflow = true
		f.dropped++
		return
	}
	f.line = append(f.line, b)
}

// endLine emits the current line (if any) and enters data mode after an
// RX chunk header.
func (f *framer) endLine(emit func(frame)) {
	f.swallowSpace = false
	if f.overflow {
		f.overflow = false
		f.line = f.line[:0]
		return
	}
	if len(f.line) == 0 {
		return
	}
	line := f.line
	emit(frame{kind: frameLine, line: line})
	if n, ok := rxChunkLen(line); ok {
		if n == 0 {
			emit(frame{kind: frameData, data: f.data[:0]})
		} else {
			f.need = n
			f.data = f.data[:0]
		}
	}
	f.line = f.line[:0]
}

var (
	rxTopicPrefix   = []byte("+CMQTTRXTOPIC:")
	rxPayloadPrefix = []byte("+CMQTTRXPAYLOAD:")
)

// rxChunkLen returns n of a "+CMQTTRXTOPIC: i,n" or "+CMQTTRXPAYLOAD: i,n"
// header when n is a length the reader accepts.
func rxChunkLen(line []byte) (int, bool) {
	var rest []byte
	switch {
	case bytes.HasPrefix(line, rxTopicPrefix):
		rest = line[len(rxTopicPrefix):]
	case bytes.HasPrefix(line, rxPayloadPrefix):
		rest = line[len(rxPayloadPrefix):]
	default:
		return 0, false
	}
	nums, ok := parseInts(string(bytes.TrimSpace(rest)), 2)
	if !ok || nums[1] < 0 || nums[1] > maxDataLen {
		return 0, false
	}
	return nums[1], true
}
