package atmodem_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// windowRig is a Session with a publish window on an emulator with a broker
// round trip, and a subscriber on the broker that counts what arrives.
type windowRig struct {
	sim  *modemsim.Sim
	m    *atmodem.Modem
	s    *atmodem.Session
	got  <-chan atmodem.Event
	ctx  context.Context
	opts atmodem.ConnectOptions
}

// windowRTT is the broker round trip of these tests: results are pending
// while the next messages go out.
const windowRTT = 150 * time.Millisecond

func newWindowRig(t *testing.T, mode modemsim.PipelineMode, window int) *windowRig {
	t.Helper()
	broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	sim, err := modemsim.New(modemsim.Config{Model: atmodem.A7600, Broker: broker.URL(), Pipeline: mode, RTT: windowRTT})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	m := atmodem.New(sim.Conn(), atmodem.WithModel(atmodem.A7600))
	t.Cleanup(func() { m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	// The counting subscriber is index 1 of the same modem: what index 0
	// publishes comes back to it through the broker.
	sub, err := m.Session(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	if err := sub.Connect(ctx, atmodem.ConnectOptions{Broker: "tcp://broker.example.com", ClientID: "counter"}); err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(ctx, atmodem.Subscription{Topic: "w/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := m.Session(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	opts := atmodem.ConnectOptions{Broker: "tcp://broker.example.com", ClientID: "window"}
	if err := s.Connect(ctx, opts); err != nil {
		t.Fatal(err)
	}
	s.SetMaxInflight(window)
	return &windowRig{sim: sim, m: m, s: s, got: sub.Events(), ctx: ctx, opts: opts}
}

// sendAll publishes msgs (QoS 1) through the window and resends each whose
// fate is not done, as the client and compat do: link down after a new
// Connect, unknown at once, with DUP either way. It returns how many were
// resent and the fates the first sends ended with.
func (r *windowRig) sendAll(t *testing.T, msgs []string) (resent int, firstFates []atmodem.Fate) {
	t.Helper()
	type flight struct {
		i  int
		ch <-chan error
	}
	firstFates = make([]atmodem.Fate, len(msgs))
	todo, dup := []int{}, map[int]bool{}
	for i := range msgs {
		todo = append(todo, i)
	}
	first := map[int]bool{}
	for round := 0; len(todo) > 0; round++ {
		if round > 10 {
			t.Fatalf("still %d to send after 10 rounds", len(todo))
		}
		var flights []flight
		var again []int
		fail := func(i int, err error) {
			if !first[i] {
				first[i] = true
				firstFates[i] = atmodem.FateOf(err)
			}
			if atmodem.FateOf(err) == atmodem.FateRefused {
				t.Fatalf("%s refused: %v", msgs[i], err)
			}
			dup[i] = true
			again = append(again, i)
		}
		for _, i := range todo {
			p := atmodem.Publish{Topic: "w/" + msgs[i], Payload: []byte(msgs[i]), QoS: 1, Dup: dup[i]}
			ch, err := r.s.PublishAsync(r.ctx, p)
			if err != nil {
				fail(i, err)
				continue
			}
			flights = append(flights, flight{i, ch})
		}
		linkDown := false
		for _, f := range flights {
			err := <-f.ch
			if err == nil {
				first[f.i] = true
				continue
			}
			linkDown = linkDown || atmodem.FateOf(err) == atmodem.FateLinkDown
			fail(f.i, err)
		}
		if linkDown || r.m.Fenced(0) {
			if err := r.s.Connect(r.ctx, r.opts); err != nil {
				t.Fatalf("reconnect: %v", err)
			}
		}
		resent += len(again)
		todo = again
	}
	return resent, firstFates
}

// received waits until the subscriber got every one of msgs (duplicates
// allowed) and returns how often each came.
func (r *windowRig) received(t *testing.T, msgs []string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	missing := len(msgs)
	for missing > 0 {
		select {
		case ev := <-r.got:
			if ev.Kind != atmodem.EventMessage {
				continue
			}
			p := string(ev.Message.Payload)
			if seen[p] == 0 {
				missing--
			}
			seen[p]++
		case <-r.ctx.Done():
			t.Fatalf("subscriber got %v, want all of %q", seen, msgs)
		}
	}
	return seen
}

func messages(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m%02d", i)
	}
	return out
}

// TestWindowThroughEmulator: eight QoS 1 messages through a window of 4 on
// each kind of firmware, with a 150 ms broker round trip. Firmware that
// takes pipelining confirms all eight at the first try; firmware that
// refuses it (14 or ERROR) refuses one, which is sent again, the modem
// falls back to one at a time, and nothing is lost.
func TestWindowThroughEmulator(t *testing.T) {
	for _, mode := range []modemsim.PipelineMode{modemsim.PipelineAccept, modemsim.PipelineBusy14, modemsim.PipelineError} {
		t.Run(mode.String(), func(t *testing.T) {
			r := newWindowRig(t, mode, 4)
			msgs := messages(8)
			resent, fates := r.sendAll(t, msgs)
			r.received(t, msgs)
			refused := r.m.PipelineRefused()
			switch {
			case mode == modemsim.PipelineAccept && (resent != 0 || refused):
				t.Fatalf("accepting firmware: %d resent, PipelineRefused %v", resent, refused)
			case mode != modemsim.PipelineAccept && (!refused || resent == 0 || r.s.MaxInflight() != 1):
				t.Fatalf("refusing firmware: PipelineRefused %v, %d resent, MaxInflight %d", refused, resent, r.s.MaxInflight())
			}
			for i, f := range fates {
				if f == atmodem.FateRefused {
					t.Errorf("%s: refused", msgs[i])
				}
			}
		})
	}
}

// TestWindowLossThroughEmulator: the broker connection drops
// (+CMQTTCONNLOST) with four results pending: all four end link down, are
// sent again with DUP after the reconnect, and none is lost.
func TestWindowLossThroughEmulator(t *testing.T) {
	r := newWindowRig(t, modemsim.PipelineAccept, 4)
	msgs := messages(4)
	var chs []<-chan error
	for _, msg := range msgs {
		ch, err := r.s.PublishAsync(r.ctx, atmodem.Publish{Topic: "w/" + msg, Payload: []byte(msg), QoS: 1})
		if err != nil {
			t.Fatal(err)
		}
		chs = append(chs, ch)
	}
	if err := r.sim.DropConnection(0, 1); err != nil {
		t.Fatal(err)
	}
	for i, ch := range chs {
		if err := <-ch; !errors.Is(err, atmodem.ErrConnectionLost) {
			t.Fatalf("%s: %v, want ErrConnectionLost", msgs[i], err)
		}
	}
	if err := r.s.Connect(r.ctx, r.opts); err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs {
		if err := r.s.Publish(r.ctx, atmodem.Publish{Topic: "w/" + msg, Payload: []byte(msg), QoS: 1, Dup: true}); err != nil {
			t.Fatalf("%s again: %v", msg, err)
		}
	}
	r.received(t, msgs)
}

// TestWindowFailureCodeThroughEmulator: the link dies under the third of
// four pipelined publishes (+CMQTTPUB: 0,6, then +CMQTTCONNLOST): the two
// before it are confirmed, the third ends with result 6 (unknown), the
// fourth with the loss; the last two are sent again and none is lost.
func TestWindowFailureCodeThroughEmulator(t *testing.T) {
	r := newWindowRig(t, modemsim.PipelineAccept, 4)
	msgs := messages(4)
	var chs []<-chan error
	for i, msg := range msgs {
		if i == 2 {
			if err := r.sim.DyingLinkOnPublish(0, modemsim.DyingLink{}); err != nil {
				t.Fatal(err)
			}
		}
		ch, err := r.s.PublishAsync(r.ctx, atmodem.Publish{Topic: "w/" + msg, Payload: []byte(msg), QoS: 1})
		if err != nil {
			t.Fatal(err)
		}
		chs = append(chs, ch)
	}
	want := []atmodem.Fate{atmodem.FateDone, atmodem.FateDone, atmodem.FateUnknown, atmodem.FateLinkDown}
	for i, ch := range chs {
		if err := <-ch; atmodem.FateOf(err) != want[i] {
			t.Fatalf("%s: %v (%v), want %v", msgs[i], err, atmodem.FateOf(err), want[i])
		}
	}
	if err := r.s.Connect(r.ctx, r.opts); err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs[2:] {
		if err := r.s.Publish(r.ctx, atmodem.Publish{Topic: "w/" + msg, Payload: []byte(msg), QoS: 1, Dup: true}); err != nil {
			t.Fatalf("%s again: %v", msg, err)
		}
	}
	r.received(t, msgs)
}
