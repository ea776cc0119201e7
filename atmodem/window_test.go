package atmodem

import (
	"errors"
	"testing"
)

// pubSteps is what Session.Publish writes for a one-byte topic and payload
// (msg), the modem answering the PUB with pubReply.
func pubSteps(msg, pubReply string) []step {
	return seq(data("AT+CMQTTTOPIC=0,1", msg, ok), data("AT+CMQTTPAYLOAD=0,1", msg, ok), cmd("AT+CMQTTPUB=0,1,60", pubReply))
}

// connectedSession connects index 0 of an A7600 scripted with connectedA
// then steps, and sets its window to n.
func connectedSession(t *testing.T, mode delivery, n int, steps ...any) (*Modem, *scriptModem, *Session) {
	t.Helper()
	m, sm := startModem(t, mode, seq(append([]any{connectedA}, steps...)...), WithModel(A7600))
	s := newSession(t, m, 0)
	if err := s.Connect(testCtx(t), plainOpts); err != nil {
		t.Fatal(err)
	}
	s.SetMaxInflight(n)
	return m, sm, s
}

// pubOf is the QoS 1 message of pubSteps.
func pubOf(msg string) Publish { return Publish{Topic: msg, Payload: []byte(msg), QoS: 1} }

// fateOf waits for a publish's result on ch.
func fateOf(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-testCtx(t).Done():
		t.Fatal("no result")
		return nil
	}
}

// ready reports whether ch holds a result already.
func ready(ch <-chan error) (error, bool) {
	select {
	case err := <-ch:
		return err, true
	default:
		return nil, false
	}
}

// TestWindowAccepted: with SetMaxInflight(3) on firmware that takes it,
// three messages go out back to back, TOPIC, PAYLOAD and PUB each, before
// any result came; the results, a failure code among them, are matched in
// order; a fourth waits for room in the window.
func TestWindowAccepted(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm, s := connectedSession(t, mode, 3,
			pubSteps("a", ok),
			pubSteps("b", ok),
			pubSteps("c", ok+"\r\n+CMQTTPUB: 0,0\r\n\r\n+CMQTTPUB: 0,11\r\n"),
			pubSteps("d", ok+"\r\n+CMQTTPUB: 0,0\r\n\r\n+CMQTTPUB: 0,0\r\n"),
		)
		ctx := testCtx(t)
		var chs []<-chan error
		for _, msg := range []string{"a", "b", "c", "d"} {
			ch, err := s.PublishAsync(ctx, pubOf(msg))
			if err != nil {
				t.Fatalf("%s: %v", msg, err)
			}
			chs = append(chs, ch)
		}
		// "d" went out once "a"'s result made room.
		if err, ok := ready(chs[0]); !ok || err != nil {
			t.Fatalf("a: ready %v, err %v: want its result before d was sent", ok, err)
		}
		if err := fateOf(t, chs[1]); FateOf(err) != FateLinkDown || !errors.Is(err, ErrLinkDown) {
			t.Fatalf("b: %v, want result 11 (link down)", err)
		}
		for i, ch := range chs[2:] {
			if err := fateOf(t, ch); err != nil {
				t.Fatalf("%c: %v", 'c'+i, err)
			}
		}
		if m.PipelineRefused() || s.Pending() != 0 {
			t.Fatalf("PipelineRefused %v, Pending %d", m.PipelineRefused(), s.Pending())
		}
		sm.waitSteps(t)
	})
}

// TestWindowRefused: firmware that does not take a publish while a result
// is pending. The refused message fails with ErrPipelineRefused (fate
// unknown: sent again, with DUP, by the caller); the one pending keeps its
// place and gets its own result; the modem sends one publish at a time
// from then on (the next waits for the pending result); the log says why
// once. Each way the firmware can refuse: result 14 then ERROR, a bare
// ERROR, TOPIC refused, and the pending result itself arriving before the
// refusal's ERROR.
func TestWindowRefused(t *testing.T) {
	const late = "\r\n+CMQTTPUB: 0,0\r\n"
	tests := []struct {
		name    string
		refused []step // the second message, refused
		after   []step // then, before the resend
	}{
		{"result 14 then ERROR", pubSteps("b", "\r\n+CMQTTPUB: 0,14\r\n\r\nERROR\r\n"), []step{{reply: late}}},
		{"result 14 ERROR on one line", pubSteps("b", "\r\n+CMQTTPUB: 0,14 ERROR\r\n"), []step{{reply: late}}},
		{"bare ERROR", pubSteps("b", "\r\nERROR\r\n"), []step{{reply: late}}},
		{"TOPIC refused with 14", seq(cmd("AT+CMQTTTOPIC=0,1", "\r\n+CMQTTTOPIC: 0,14\r\n\r\nERROR\r\n")), []step{{reply: late}}},
		{"pending result, then a bare ERROR", pubSteps("b", late+"\r\nERROR\r\n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, sm, s := connectedSession(t, mode, 4,
					pubSteps("a", ok),
					tt.refused,
					tt.after,
					pubSteps("b", final("+CMQTTPUB", 0, 0)),
				)
				ctx := testCtx(t)
				a, err := s.PublishAsync(ctx, pubOf("a"))
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.PublishAsync(ctx, pubOf("b"))
				if !errors.Is(err, ErrPipelineRefused) || FateOf(err) != FateUnknown {
					t.Fatalf("b: err = %v, want ErrPipelineRefused (fate unknown)", err)
				}
				if !m.PipelineRefused() || s.MaxInflight() != 1 {
					t.Fatalf("PipelineRefused %v, MaxInflight %d: want true, 1", m.PipelineRefused(), s.MaxInflight())
				}
				b, err := s.PublishAsync(ctx, pubOf("b")) // sent again, after a's result
				if err != nil {
					t.Fatalf("b again: %v", err)
				}
				if err, ok := ready(a); !ok || err != nil {
					t.Fatalf("a: ready %v, err %v: want its own result, before b went again", ok, err)
				}
				if err := fateOf(t, b); err != nil {
					t.Fatalf("b again: %v", err)
				}
				sm.waitSteps(t)
			})
		})
	}
}

// TestWindowAmbiguousRefusal: two results pending and the third PUB
// answered "+CMQTTPUB: 0,14" and ERROR: the 14 may be its refusal or the
// first pending result, and then the results of the second could be
// either's. Nothing is guessed: both pending end with ErrResultsUnmatched
// (link down: sent again with DUP), the index is fenced, and the next
// Connect sends AT+CMQTTDISC before CONNECT.
func TestWindowAmbiguousRefusal(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm, s := connectedSession(t, mode, 3,
			pubSteps("a", ok),
			pubSteps("b", ok),
			pubSteps("c", "\r\n+CMQTTPUB: 0,14\r\n\r\nERROR\r\n"),
			step{reply: "\r\n+CMQTTPUB: 0,0\r\n"}, // whose? dropped
			cmd("AT+CMQTTDISC=0,0", final("+CMQTTDISC", 0, 0)),
			plainConn,
		)
		ctx := testCtx(t)
		a, _ := s.PublishAsync(ctx, pubOf("a"))
		b, _ := s.PublishAsync(ctx, pubOf("b"))
		if _, err := s.PublishAsync(ctx, pubOf("c")); !errors.Is(err, ErrPipelineRefused) {
			t.Fatalf("c: %v, want ErrPipelineRefused", err)
		}
		for _, ch := range []<-chan error{a, b} {
			if err := fateOf(t, ch); !errors.Is(err, ErrResultsUnmatched) || FateOf(err) != FateLinkDown {
				t.Fatalf("pending: %v, want ErrResultsUnmatched (link down)", err)
			}
		}
		if up, err := s.Connected(ctx); up || err != nil {
			t.Fatalf("Connected = %v, %v: want false while fenced", up, err)
		}
		if err := s.Publish(ctx, pubOf("d")); !errors.Is(err, ErrResultsUnmatched) {
			t.Fatalf("publish while fenced: %v", err)
		}
		if err := s.Connect(ctx, plainOpts); err != nil {
			t.Fatal(err)
		}
		if m.Fenced(0) {
			t.Fatal("still fenced after the connection was made again")
		}
		sm.waitSteps(t)
	})
}

// TestWindowConnLost: +CMQTTCONNLOST with three results pending ends all
// three with ErrConnectionLost (link down: kept and sent again with DUP
// after the reconnect), and the window is empty again.
func TestWindowConnLost(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, sm, s := connectedSession(t, mode, 4,
			pubSteps("a", ok),
			pubSteps("b", ok+"\r\n+CMQTTPUB: 0,6\r\n"),
			pubSteps("c", ok+"\r\n+CMQTTCONNLOST: 0,1\r\n"),
		)
		ctx := testCtx(t)
		var chs []<-chan error
		for _, msg := range []string{"a", "b", "c"} {
			ch, err := s.PublishAsync(ctx, pubOf(msg))
			if err != nil {
				t.Fatal(err)
			}
			chs = append(chs, ch)
		}
		// a got result 6 (the link dying: unknown), b and c the loss.
		if err := fateOf(t, chs[0]); FateOf(err) != FateUnknown {
			t.Fatalf("a: %v, want result 6 (unknown)", err)
		}
		for _, ch := range chs[1:] {
			if err := fateOf(t, ch); !errors.Is(err, ErrConnectionLost) || FateOf(err) != FateLinkDown {
				t.Fatalf("pending at the loss: %v, want ErrConnectionLost", err)
			}
		}
		if s.Pending() != 0 || m.Fenced(0) {
			t.Fatalf("Pending %d, Fenced %v", s.Pending(), m.Fenced(0))
		}
		sm.waitSteps(t)
	})
}
