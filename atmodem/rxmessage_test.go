package atmodem

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// rxStream renders a received message as the modem sends it: the topic and
// the payload cut into chunks of at most chunk bytes.
func rxStream(index int, topic string, payload []byte, chunk int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\r\n+CMQTTRXSTART: %d,%d,%d\r\n", index, len(topic), len(payload))
	for off := 0; off < len(topic); off += chunk {
		part := topic[off:min(off+chunk, len(topic))]
		fmt.Fprintf(&b, "+CMQTTRXTOPIC: %d,%d\r\n%s\r\n", index, len(part), part)
	}
	for off := 0; off < len(payload); off += chunk {
		part := payload[off:min(off+chunk, len(payload))]
		fmt.Fprintf(&b, "+CMQTTRXPAYLOAD: %d,%d\r\n%s\r\n", index, len(part), part)
	}
	fmt.Fprintf(&b, "+CMQTTRXEND: %d\r\n", index)
	return b.String()
}

func TestReceivedMessages(t *testing.T) {
	big := make([]byte, 10240)
	for i := range big {
		big[i] = byte(i*31 + i>>8)
	}
	tricky := []byte("\r\nOK\r\nERROR\r\n+CMQTTRXEND: 0\r\n>\x00\x00> \r\n+CMQTTCONNLOST: 0,1\r\nRDY\r\n")
	tests := []struct {
		name    string
		index   int
		topic   string
		payload []byte
		chunk   int
	}{
		{"manual example", 0, "simcommsg", []byte("012345678901234567890123456789012345678901234567890123456789"), 1500},
		{"10240 bytes in 1500-byte chunks", 1, "big/payload", big, 1500},
		{"topic in two chunks", 0, "a/very/long/topic/split/in/two", []byte("x"), 16},
		{"payload that looks like answers and URCs", 0, "t", tricky, 1500},
		{"payload that looks like answers, chunked small", 1, "t/u", tricky, 5},
		{"empty payload", 0, "simcommsg", nil, 1500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				rec := newEventRecorder()
				// The message streams in between a command and its answer:
				// the answer must stay intact and the message be routed.
				m, _ := startModem(t, mode, []step{
					{expect: "AT+CSQ\r", reply: "\r\n+CSQ: 23,0\r\n" + rxStream(tc.index, tc.topic, tc.payload, tc.chunk) + "\r\nOK\r\n"},
				}, rec.option())
				resp, err := m.exec(testCtx(t), request{line: "AT+CSQ", index: -1})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(resp.lines, []string{"+CSQ: 23,0"}) {
					t.Errorf("answer lines %q", resp.lines)
				}
				ev := rec.next(t)
				if ev.Kind != EventMessage || ev.Index != tc.index || ev.Message == nil {
					t.Fatalf("event %+v, want EventMessage", ev)
				}
				if ev.Message.Index != tc.index || ev.Message.Topic != tc.topic || !bytes.Equal(ev.Message.Payload, tc.payload) {
					t.Errorf("message %d %q %q, want %d %q %q", ev.Message.Index, ev.Message.Topic, ev.Message.Payload, tc.index, tc.topic, tc.payload)
				}
				rec.none(t)
			})
		})
	}
}

func TestReceivedMessageLengthMismatchDropped(t *testing.T) {
	bad := "\r\n+CMQTTRXSTART: 0,3,5\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n+CMQTTRXPAYLOAD: 0,4\r\nOK\r\n\r\n+CMQTTRXEND: 0\r\n"
	good := rxStream(0, "c/d", []byte("hello"), 1500)
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		rec := newEventRecorder()
		m, sm := startModem(t, mode, []step{{reply: bad + good}, {expect: "AT\r", reply: "\r\nOK\r\n"}}, rec.option())
		ev := rec.next(t)
		if ev.Kind != EventMessage || ev.Message.Topic != "c/d" || string(ev.Message.Payload) != "hello" {
			t.Fatalf("event %+v, want the good message only", ev)
		}
		if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
			t.Fatal(err)
		}
		sm.waitSteps(t)
		rec.none(t)
	})
}

func TestCommandHeldWhileMessageStreams(t *testing.T) {
	rec := newEventRecorder()
	m, sm := startModem(t, deliverWhole, []step{
		{reply: "\r\n+CMQTTRXSTART: 0,3,4\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n"},
		{expect: "AT\r", reply: "\r\nOK\r\n"},
	}, rec.option())
	waitFor(t, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.rxBusy != nil
	})
	errc := make(chan error, 1)
	go func() {
		_, err := m.exec(testCtx(t), request{line: "AT", index: -1})
		errc <- err
	}()
	select {
	case err := <-errc:
		t.Fatalf("command finished (%v) while the message was streaming in", err)
	case <-time.After(100 * time.Millisecond):
	}
	if w := sm.written(); w != "" {
		t.Fatalf("wrote %q while the message was streaming in", w)
	}
	sm.inject("+CMQTTRXPAYLOAD: 0,4\r\nabcd\r\n+CMQTTRXEND: 0\r\n")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if ev := rec.next(t); ev.Kind != EventMessage || string(ev.Message.Payload) != "abcd" {
		t.Fatalf("event %+v", ev)
	}
}

func TestLostRXEndStopsHolding(t *testing.T) {
	rec := newEventRecorder()
	m, _ := startModem(t, deliverWhole, []step{
		{reply: "\r\n+CMQTTRXSTART: 0,3,4\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n"},
		{expect: "AT\r", reply: "\r\nOK\r\n"},
		{expect: "AT\r", reply: "\r\nOK\r\n" + rxStream(1, "c", []byte("d"), 1500)},
	}, rec.option(), WithRXHoldTimeout(20*time.Millisecond))
	waitFor(t, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.rxBusy != nil
	})
	for range 2 {
		if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if ev := rec.next(t); ev.Kind != EventMessage || ev.Index != 1 || ev.Message.Topic != "c" {
		t.Fatalf("event %+v, want the next message", ev)
	}
	rec.none(t)
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRXAssembler(t *testing.T) {
	type op struct {
		kind  urcKind // urcRXStart, urcRXTopic, urcRXPayload, urcRXEnd
		args  []int
		data  string
		isErr bool // the step itself reports an error
	}
	tests := []struct {
		name    string
		ops     []op
		want    *Message
		wantErr bool
	}{
		{"topic only", []op{{kind: urcRXStart, args: []int{0, 3, 0}}, {kind: urcRXTopic, args: []int{0}, data: "a/b"}, {kind: urcRXEnd, args: []int{0}}},
			&Message{Index: 0, Topic: "a/b"}, false},
		{"two chunks each", []op{{kind: urcRXStart, args: []int{1, 4, 4}}, {kind: urcRXTopic, args: []int{1}, data: "a/"}, {kind: urcRXTopic, args: []int{1}, data: "bc"},
			{kind: urcRXPayload, args: []int{1}, data: "12"}, {kind: urcRXPayload, args: []int{1}, data: "34"}, {kind: urcRXEnd, args: []int{1}}},
			&Message{Index: 1, Topic: "a/bc", Payload: []byte("1234")}, false},
		{"short payload", []op{{kind: urcRXStart, args: []int{0, 1, 4}}, {kind: urcRXTopic, args: []int{0}, data: "a"}, {kind: urcRXPayload, args: []int{0}, data: "12"}, {kind: urcRXEnd, args: []int{0}}}, nil, true},
		{"long topic", []op{{kind: urcRXStart, args: []int{0, 1, 0}}, {kind: urcRXTopic, args: []int{0}, data: "ab"}, {kind: urcRXEnd, args: []int{0}}}, nil, true},
		{"long payload", []op{{kind: urcRXStart, args: []int{0, 1, 1}}, {kind: urcRXTopic, args: []int{0}, data: "a"}, {kind: urcRXPayload, args: []int{0}, data: "ab"}, {kind: urcRXEnd, args: []int{0}}}, nil, true},
		{"wrong chunk index", []op{{kind: urcRXStart, args: []int{0, 1, 0}}, {kind: urcRXTopic, args: []int{1}, data: "a"}, {kind: urcRXEnd, args: []int{0}}}, nil, true},
		{"wrong end index", []op{{kind: urcRXStart, args: []int{0, 1, 0}}, {kind: urcRXTopic, args: []int{0}, data: "a"}, {kind: urcRXEnd, args: []int{1}}}, nil, true},
		{"topic after payload", []op{{kind: urcRXStart, args: []int{0, 2, 1}}, {kind: urcRXTopic, args: []int{0}, data: "a"}, {kind: urcRXPayload, args: []int{0}, data: "p"},
			{kind: urcRXTopic, args: []int{0}, data: "b"}, {kind: urcRXEnd, args: []int{0}}}, nil, true},
		{"end without start", []op{{kind: urcRXEnd, args: []int{0}}}, nil, true},
		{"chunk without start", []op{{kind: urcRXTopic, args: []int{0}, data: "a", isErr: true}}, nil, false},
		{"lengths out of range", []op{{kind: urcRXStart, args: []int{0, maxDataLen + 1, 1}}, {kind: urcRXEnd, args: []int{0}}}, nil, true},
		{"payload over the limit", []op{{kind: urcRXStart, args: []int{0, 1, maxDataLen + 1}}, {kind: urcRXTopic, args: []int{0}, data: "a"},
			{kind: urcRXPayload, args: []int{0}, data: "12"}, {kind: urcRXEnd, args: []int{0}}}, nil, true},
		{"restart drops the open message", []op{{kind: urcRXStart, args: []int{0, 1, 0}}, {kind: urcRXStart, args: []int{1, 1, 0}, isErr: true},
			{kind: urcRXTopic, args: []int{1}, data: "z"}, {kind: urcRXEnd, args: []int{1}}}, &Message{Index: 1, Topic: "z"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a rxAssembler
			for i, o := range tc.ops {
				var err error
				switch o.kind {
				case urcRXStart:
					err = a.start(o.args[0], o.args[1], o.args[2])
				case urcRXTopic, urcRXPayload:
					a.header(o.kind, o.args[0])
					err = a.data([]byte(o.data))
				case urcRXEnd:
					msg, err := a.end(o.args[0])
					if (err != nil) != tc.wantErr {
						t.Fatalf("end: err = %v, wantErr %v", err, tc.wantErr)
					}
					if tc.want != nil && (msg == nil || msg.Index != tc.want.Index || msg.Topic != tc.want.Topic || !bytes.Equal(msg.Payload, tc.want.Payload)) {
						t.Fatalf("message %+v, want %+v", msg, tc.want)
					}
					continue
				}
				if (err != nil) != o.isErr {
					t.Fatalf("op %d: err = %v, want error %v", i, err, o.isErr)
				}
			}
		})
	}
}

// TestOversizeMessageError: a message whose payload is over the limit is
// dropped with an error that names its topic and size, for the log.
func TestOversizeMessageError(t *testing.T) {
	var a rxAssembler
	if err := a.start(0, 9, 11000); err != nil {
		t.Fatal(err)
	}
	a.header(urcRXTopic, 0)
	_ = a.data([]byte("big/topic"))
	for range 8 {
		a.header(urcRXPayload, 0)
		_ = a.data(make([]byte, 1375))
	}
	msg, err := a.end(0)
	if msg != nil || err == nil || !strings.Contains(err.Error(), `"big/topic"`) || !strings.Contains(err.Error(), "11000") {
		t.Fatalf("end = %v, %v; want an error naming the topic and the size", msg, err)
	}
	if cap(a.payload) != 0 {
		t.Errorf("kept %d bytes of the payload", cap(a.payload))
	}
}
