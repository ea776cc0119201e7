package atmodem

import (
	"slices"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the framer and to the engine's
// routing (URCs, RX assembly, the answer of a data command in flight). It
// checks that nothing panics or hangs, that framing does not depend on how
// the bytes are cut into reads, and that memory stays bounded. The seed
// corpus in testdata/fuzz/FuzzReader holds the example sessions of both
// manuals (chapter 3) as the modem sends them with echo on, plus boot
// messages, URCs and binary RX payloads.
func FuzzReader(f *testing.F) {
	f.Add([]byte("\r\nOK\r\n"))
	f.Add([]byte("AT+CMQTTTOPIC=0,3\r\r\n>a/b\r\nOK\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Framing is the same whole and cut into small reads.
		whole := frameStrings([][]byte{data}, nil)
		var pieces [][]byte
		for rest, n := data, 1; len(rest) > 0; n = n%5 + 1 {
			k := min(n, len(rest))
			pieces = append(pieces, rest[:k])
			rest = rest[k:]
		}
		if cut := frameStrings(pieces, nil); !slices.Equal(whole, cut) {
			t.Fatalf("frames differ by read size:\n whole %q\n cut   %q", whole, cut)
		}
		for _, fr := range whole {
			if len(fr) > 2+max(maxLineLen, maxDataLen) {
				t.Fatalf("frame of %d bytes exceeds the limits", len(fr))
			}
		}

		// The engine's routing, with a data command in flight, no goroutine.
		m := &Modem{cfg: defaultConfig(), done: make(chan struct{})}
		m.cfg.onEvent = func(ev Event) {
			if ev.Kind == EventMessage && (len(ev.Message.Topic) > maxDataLen || len(ev.Message.Payload) > maxDataLen) {
				t.Fatalf("message exceeds the limits: %d/%d bytes", len(ev.Message.Topic), len(ev.Message.Payload))
			}
		}
		m.fr.init(m.promptWanted)
		c := newInflight(request{line: "AT+CMQTTTOPIC=0,3", data: []byte("a/b"), index: 0})
		m.cur = c
		m.fr.feed(data, m.handleFrame)
		if len(c.lines) > maxAnswerLines || len(m.fr.line) > maxLineLen || cap(m.rx.payload) > maxDataLen || cap(m.rx.topic) > maxDataLen {
			t.Fatalf("memory not bounded: %d lines, line %d, topic cap %d, payload cap %d",
				len(c.lines), len(m.fr.line), cap(m.rx.topic), cap(m.rx.payload))
		}
	})
}
