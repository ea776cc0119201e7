package modemsim

import (
	"fmt"
	"testing"
	"time"
)

// pipelineRTT is the broker round trip of the pipeline tests: long enough
// that a second publish is written while the first one's PUBACK is out.
const pipelineRTT = 200 * time.Millisecond

// connectedIndex0 starts an emulator (echo off) with cfg in front of an
// embedded broker, connects index 0 over raw AT, and returns it with a
// peer subscribed to "pipe/#".
func connectedIndex0(t *testing.T, cfg Config) (*Sim, *atTalk, *peer) {
	t.Helper()
	b := startEmbedded(t, EmbeddedOptions{})
	cfg.Broker, cfg.Echo = b.URL(), EchoOff
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a := newATTalk(t, s.Conn())
	p := newPeer(t, b.Addr())
	p.subscribe(t, "pipe/#")
	atStart(t, a)
	expectResult(t, "CONNECT", atConnect(t, a, 0, "pipeline", 0, "broker.example:1883", ""), "+CMQTTCONNECT: 0,0")
	return s, a, p
}

// topicAndPayload writes the TOPIC and PAYLOAD of a message on index 0.
func topicAndPayload(a *atTalk, topic, payload string) {
	a.t.Helper()
	a.cmdDataOK(fmt.Sprintf("AT+CMQTTTOPIC=0,%d", len(topic)), []byte(topic))
	a.cmdDataOK(fmt.Sprintf("AT+CMQTTPAYLOAD=0,%d", len(payload)), []byte(payload))
}

// TestPipelineModes: a PUB written while the result of the one before is
// pending, under each Config.Pipeline: taken (both published, results in
// order), refused with 14 then ERROR, or with a bare ERROR (only the first
// published, its result still comes).
func TestPipelineModes(t *testing.T) {
	tests := []struct {
		mode   PipelineMode
		second string // the answer to the second AT+CMQTTPUB
		later  []string
		got    []string // what the peer receives
	}{
		{PipelineAccept, "\r\nOK\r\n", []string{"+CMQTTPUB: 0,0", "+CMQTTPUB: 0,0"}, []string{"a", "b"}},
		{PipelineBusy14, "\r\n+CMQTTPUB: 0,14\r\n\r\nERROR\r\n", []string{"+CMQTTPUB: 0,0"}, []string{"a"}},
		{PipelineError, "\r\nERROR\r\n", []string{"+CMQTTPUB: 0,0"}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			_, a, p := connectedIndex0(t, Config{Pipeline: tt.mode, RTT: pipelineRTT})
			topicAndPayload(a, "pipe/a", "a")
			if got := a.cmd("AT+CMQTTPUB=0,1,60"); got != "\r\nOK\r\n" {
				t.Fatalf("first PUB: %q", got)
			}
			topicAndPayload(a, "pipe/b", "b")
			if got := a.cmd("AT+CMQTTPUB=0,1,60"); got != tt.second {
				t.Fatalf("second PUB: %q, want %q", got, tt.second)
			}
			for _, want := range tt.later {
				expectResult(t, "result", a.waitLine("+CMQTTPUB:"), want)
			}
			for _, want := range tt.got {
				if m := p.next(t); m.payload != want {
					t.Fatalf("peer got %q, want %q", m.payload, want)
				}
			}
		})
	}
}

// TestPipelineResultsInOrder: with pipelining taken, a QoS 0 publish
// written after a QoS 1 one is done at the broker at once, but its result
// comes only after the QoS 1 result, a round trip later, in the order of
// the commands: the host can only match results in order.
func TestPipelineResultsInOrder(t *testing.T) {
	_, a, _ := connectedIndex0(t, Config{Pipeline: PipelineAccept, RTT: pipelineRTT})
	topicAndPayload(a, "pipe/1", "one")
	a.cmdOK("AT+CMQTTPUB=0,1,60")
	start := time.Now()
	topicAndPayload(a, "pipe/0", "zero")
	a.cmdOK("AT+CMQTTPUB=0,0,60")
	a.cmdOK("AT") // the port answers meanwhile
	expectResult(t, "first result", a.waitLine("+CMQTTPUB:"), "+CMQTTPUB: 0,0")
	if el := time.Since(start); el < pipelineRTT-5*time.Millisecond {
		t.Fatalf("first result %v after the QoS 1 PUB: the QoS 0 result overtook it", el)
	}
	expectResult(t, "second result", a.waitLine("+CMQTTPUB:"), "+CMQTTPUB: 0,0")
}

// TestRTT: every broker answer pays the round trip: the PUB's result comes
// no earlier than Config.RTT after its OK (a lower bound: no timing is
// asserted beyond what the model must add).
func TestRTT(t *testing.T) {
	_, a, _ := connectedIndex0(t, Config{RTT: pipelineRTT})
	topicAndPayload(a, "pipe/rtt", "x")
	a.cmdOK("AT+CMQTTPUB=0,1,60")
	start := time.Now()
	expectResult(t, "result", a.waitLine("+CMQTTPUB:"), "+CMQTTPUB: 0,0")
	if el := time.Since(start); el < pipelineRTT-5*time.Millisecond {
		t.Fatalf("result %v after OK, before the round trip %v", el, pipelineRTT)
	}
}

// TestPipelineConfig: the modes' names, and bad values refused.
func TestPipelineConfig(t *testing.T) {
	for _, m := range []PipelineMode{PipelineAccept, PipelineBusy14, PipelineError} {
		if got, err := ParsePipelineMode(m.String()); err != nil || got != m {
			t.Errorf("ParsePipelineMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParsePipelineMode("yes"); err == nil {
		t.Error("ParsePipelineMode(yes): no error")
	}
	if _, err := New(Config{RTT: -time.Second}); err == nil {
		t.Error("negative RTT: no error")
	}
	if _, err := New(Config{Pipeline: PipelineMode(7)}); err == nil {
		t.Error("unknown pipeline mode: no error")
	}
}
