package modemsim

import (
	"sync"
	"time"
)

// outUnit is one indivisible piece of the modem's output: an answer, a URC,
// a whole RX sequence (stream), noise.
type outUnit struct {
	data   []byte
	stream bool       // an RX sequence: commands arriving meanwhile hit the busy rule
	cut    *streamCut // set by next: write only cut.at bytes, then cut.then's
}

// writePiece is how many bytes the writer hands the line at once; between
// pieces it honours Stall and writes corrupting answers (BusyCorrupt).
const writePiece = 64

// output serialises everything the modem writes to the host. Answers of the
// command being processed go out in order; URCs that arrive while a command
// is being processed (between its line and its final result, prompt data
// included) are held and written after the final result, so a URC never
// lands inside an answer or a prompt exchange.
type output struct {
	mu        sync.Mutex
	queue     []outUnit
	held      []outUnit
	inCmd     bool
	urgent    [][]byte
	streaming bool
	writing   bool          // the writer is in the middle of a unit
	stallCh   chan struct{} // non-nil while stalled; closed by unstall
	stallT    *time.Timer
	inputHeld bool // the host reader holds bytes the host wrote until the stall ends
	wake      chan struct{}
	// cut, when set, cuts the next stream unit after cut.at bytes and
	// writes what cut.then returns right after them (RebootInRX).
	cut *streamCut
}

// streamCut ends the next RX sequence early.
type streamCut struct {
	at   int
	then func() []byte
}

func newOutput() *output { return &output{wake: make(chan struct{}, 1)} }

func (o *output) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// answer queues part of the current command's answer.
func (o *output) answer(b []byte) {
	if len(b) == 0 {
		return
	}
	o.mu.Lock()
	o.queue = append(o.queue, outUnit{data: b})
	o.mu.Unlock()
	o.signal()
}

// corrupt writes b at the next piece boundary, even inside a stream; with
// no stream in progress it is an ordinary answer.
func (o *output) corrupt(b []byte) {
	o.mu.Lock()
	if o.streaming {
		o.urgent = append(o.urgent, b)
	} else {
		o.queue = append(o.queue, outUnit{data: b})
	}
	o.mu.Unlock()
	o.signal()
}

// urc queues an unsolicited unit, holding it while a command is in progress.
func (o *output) urc(u outUnit) {
	o.mu.Lock()
	if o.inCmd {
		o.held = append(o.held, u)
	} else {
		o.queue = append(o.queue, u)
	}
	o.mu.Unlock()
	o.signal()
}

// begin marks the start of a command's processing.
func (o *output) begin() {
	o.mu.Lock()
	o.inCmd = true
	o.mu.Unlock()
}

// end marks the end of a command: held URCs follow its answer.
func (o *output) end() {
	o.mu.Lock()
	o.inCmd = false
	o.queue = append(o.queue, o.held...)
	o.held = nil
	o.mu.Unlock()
	o.signal()
}

// armCut arms a cut of the next stream unit.
func (o *output) armCut(c *streamCut) {
	o.mu.Lock()
	o.cut = c
	o.mu.Unlock()
}

// dropQueued drops every unit not yet begun, held or queued, and the
// corrupting answers not yet written (a crash).
func (o *output) dropQueued() {
	o.mu.Lock()
	o.queue, o.held, o.urgent = nil, nil, nil
	o.mu.Unlock()
}

// dropHeld drops the URCs held behind the current command (reboot).
func (o *output) dropHeld() {
	o.mu.Lock()
	o.held = nil
	o.mu.Unlock()
}

func (o *output) isStreaming() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.streaming
}

// stall stops all output until unstall, or for d when d > 0.
func (o *output) stall(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stallCh == nil {
		o.stallCh = make(chan struct{})
	}
	if o.stallT != nil {
		o.stallT.Stop()
		o.stallT = nil
	}
	if d > 0 {
		o.stallT = time.AfterFunc(d, o.unstall)
	}
}

// unstall resumes output.
func (o *output) unstall() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stallT != nil {
		o.stallT.Stop()
		o.stallT = nil
	}
	if o.stallCh != nil {
		close(o.stallCh)
		o.stallCh = nil
	}
}

// waitStall blocks while the output is stalled; false when stop closes.
func (o *output) waitStall(stop <-chan struct{}) bool {
	for {
		o.mu.Lock()
		ch := o.stallCh
		o.mu.Unlock()
		if ch == nil {
			return true
		}
		select {
		case <-ch:
		case <-stop:
			return false
		}
	}
}

// holdInput is waitStall for the host reader, which has just read bytes
// from the host: while it waits, inputHeld is set (the stall holds those
// bytes, and with them everything the host writes after them).
func (o *output) holdInput(stop <-chan struct{}) bool {
	o.mu.Lock()
	o.inputHeld = o.stallCh != nil
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.inputHeld = false
		o.mu.Unlock()
	}()
	return o.waitStall(stop)
}

// holdingInput reports whether the host reader waits in holdInput.
func (o *output) holdingInput() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.inputHeld
}

// next blocks for the next unit; ok is false when stop closes.
func (o *output) next(stop <-chan struct{}) (outUnit, bool) {
	for {
		o.mu.Lock()
		if len(o.queue) > 0 {
			u := o.queue[0]
			o.queue[0] = outUnit{}
			o.queue = o.queue[1:]
			o.streaming = u.stream
			o.writing = true
			if u.stream && o.cut != nil {
				u.cut, o.cut = o.cut, nil
			}
			o.mu.Unlock()
			return u, true
		}
		o.mu.Unlock()
		select {
		case <-o.wake:
		case <-stop:
			return outUnit{}, false
		}
	}
}

func (o *output) takeUrgent() [][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	u := o.urgent
	o.urgent = nil
	return u
}

// endStream ends the busy window of the unit being written: called before
// its last piece goes to the link, not after the write returns, since a
// host that has read the final byte may send its next command before the
// writer gets the CPU back.
func (o *output) endStream() {
	o.mu.Lock()
	o.streaming = false
	o.mu.Unlock()
}

func (o *output) doneUnit() {
	o.mu.Lock()
	o.streaming = false
	o.writing = false
	o.mu.Unlock()
}

// idle reports whether nothing waits to be written.
func (o *output) idle() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue) == 0 && len(o.urgent) == 0 && !o.writing
}

// run is the writer goroutine: it writes unit after unit with send, whose
// cont flag says the bytes continue the same unit.
func (o *output) run(stop <-chan struct{}, send func(b []byte, cont bool) error) {
	for {
		u, ok := o.next(stop)
		if !ok {
			return
		}
		data := u.data
		if u.cut != nil {
			data = data[:min(u.cut.at, len(data))]
		}
		for len(data) > 0 {
			if !o.waitStall(stop) {
				return
			}
			for _, b := range o.takeUrgent() {
				if send(b, true) != nil {
					return
				}
			}
			n := min(len(data), writePiece)
			if n == len(data) && u.stream {
				// The host may act on the stream's last byte as soon as
				// it is on the line, so the stream is over before it is.
				o.endStream()
			}
			if send(data[:n], len(data) < len(u.data)) != nil {
				return
			}
			data = data[n:]
		}
		if u.cut != nil {
			// The firmware died here: what it writes next follows directly.
			if b := u.cut.then(); len(b) > 0 && send(b, true) != nil {
				return
			}
		}
		o.doneUnit()
		if urgent := o.takeUrgent(); len(urgent) > 0 {
			if !o.waitStall(stop) {
				return
			}
			for _, b := range urgent {
				if send(b, true) != nil {
					return
				}
			}
		}
	}
}
