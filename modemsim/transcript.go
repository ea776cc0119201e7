package modemsim

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Direction says which way bytes went over the AT port.
type Direction int

const (
	// ToModem is what the host wrote: commands and prompt data.
	ToModem Direction = iota + 1
	// ToHost is what the emulated modem wrote: echo, answers, prompts, URCs.
	ToHost
	// Backend is not AT traffic: a note of what the emulated modem did on
	// its broker side (the MQTT protocol level of a CONNECT), as text.
	Backend
)

// String gives "host->modem" or "modem->host".
func (d Direction) String() string {
	switch d {
	case ToModem:
		return "host->modem"
	case ToHost:
		return "modem->host"
	case Backend:
		return "backend"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// TranscriptEntry is one run of bytes that crossed the AT port.
type TranscriptEntry struct {
	Time time.Time
	Dir  Direction
	Data []byte
}

// transcript records the bytes each way, merging consecutive bytes of one
// direction, and optionally traces them to a writer as they pass.
type transcript struct {
	mu      sync.Mutex
	entries []TranscriptEntry
	max     int // bytes kept; the oldest entries are dropped beyond it
	size    int
	trace   io.Writer
}

func newTranscript(max int, trace io.Writer) *transcript {
	return &transcript{max: max, trace: trace}
}

func (t *transcript) record(dir Direction, b []byte) {
	if len(b) == 0 {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.trace != nil {
		arrow := ">"
		if dir == ToHost {
			arrow = "<"
		}
		fmt.Fprintf(t.trace, "%s %s %q\n", now.Format("15:04:05.000000"), arrow, b)
	}
	if n := len(t.entries); n > 0 && t.entries[n-1].Dir == dir && now.Sub(t.entries[n-1].Time) < time.Millisecond {
		t.entries[n-1].Data = append(t.entries[n-1].Data, b...)
	} else {
		t.entries = append(t.entries, TranscriptEntry{Time: now, Dir: dir, Data: append([]byte(nil), b...)})
	}
	t.size += len(b)
	for t.max > 0 && t.size > t.max && len(t.entries) > 1 {
		t.size -= len(t.entries[0].Data)
		t.entries = t.entries[1:]
	}
}

// note records a Backend entry of its own.
func (t *transcript) note(text string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.trace != nil {
		fmt.Fprintf(t.trace, "%s = %s\n", now.Format("15:04:05.000000"), text)
	}
	t.entries = append(t.entries, TranscriptEntry{Time: now, Dir: Backend, Data: []byte(text)})
	t.size += len(text)
}

func (t *transcript) snapshot() []TranscriptEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]TranscriptEntry, len(t.entries))
	for i, e := range t.entries {
		out[i] = TranscriptEntry{Time: e.Time, Dir: e.Dir, Data: append([]byte(nil), e.Data...)}
	}
	return out
}

// bytesTo returns everything that went one way, concatenated.
func (t *transcript) bytesTo(dir Direction) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []byte
	for _, e := range t.entries {
		if e.Dir == dir {
			out = append(out, e.Data...)
		}
	}
	return out
}
