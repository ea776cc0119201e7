package modemsim

import (
	"bytes"
	"strings"
	"testing"
	"time"

	mochipk "github.com/mochi-mqtt/server/v2/packets"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestDyingLinkPublish: the link dies under AT+CMQTTPUB (issue 12.1):
// OK, "+CMQTTPUB: 0,6", then "+CMQTTCONNLOST: 0,1" at once, or nothing
// when the CONNLOST never comes; the broker link is dropped without
// DISCONNECT; the publish reached the broker only when Delivered.
func TestDyingLinkPublish(t *testing.T) {
	const pub = "\r\n+CMQTTPUB: 0,6\r\n"
	const lost = "\r\n+CMQTTCONNLOST: 0,1\r\n"
	for _, tc := range []struct {
		name      string
		inject    string
		answer    string // after the PUB line
		delivered bool
		held      bool // the index is still held as connected afterwards
	}{
		{"at once", "dying pub 0", ok + pub + lost, false, false},
		{"delivered", "dying pub 0 delivered lost=now", ok + pub + lost, true, false},
		{"cause 3", "dying pub 0 cause=3", ok + pub + "\r\n+CMQTTCONNLOST: 0,3\r\n", false, false},
		{"no result", "dying pub 0 noresult", ok + lost, false, false},
		{"never lost", "dying pub 0 delivered lost=never", ok + pub, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, h, d := startFake(t, Config{Model: simcom.SIM7600})
			h.start()
			h.connect("0")
			h.connect("1")
			if err := s.Inject(tc.inject); err != nil {
				t.Fatal(err)
			}
			h.data("AT+CMQTTTOPIC=0,3", "a/b", ok)
			h.data("AT+CMQTTPAYLOAD=0,2", "hi", ok)
			h.cmd("AT+CMQTTPUB=0,1,60", tc.answer)
			d.mu.Lock()
			link := d.links[0]
			d.mu.Unlock()
			if !link.wasDropped() || link.wasDisconnected() {
				t.Error("link not dropped without DISCONNECT")
			}
			if got := len(link.published()); got != map[bool]int{false: 0, true: 1}[tc.delivered] {
				t.Errorf("%d publishes reached the broker, delivered %v", got, tc.delivered)
			}
			if tc.held {
				h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,0\r\n"+ok)
				h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1`, codeErr("+CMQTTCONNECT", 0, 13))
				h.data("AT+CMQTTTOPIC=0,3", "a/b", ok)
				h.cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 0,11\r\n")
				h.send("AT+CMQTTDISC=0,60\r")
				h.expectAnyOrder(ok, "\r\n+CMQTTDISC: 0,0\r\n")
			}
			h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,0\r\n"+ok)
			// Armed once: the next connection publishes normally.
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			h.data("AT+CMQTTTOPIC=0,3", "a/b", ok)
			h.cmd("AT+CMQTTPUB=0,1,60,0,1", ok+"\r\n+CMQTTPUB: 0,0\r\n")
			if got := d.last(t).published(); len(got) != 1 || !got[0].dup {
				t.Errorf("resend: %+v, want one publish with DUP", got)
			}
			h.quiet(s)
		})
	}
}

// TestDyingLinkPublishTranscript: with echo on, the host sees the
// exchange of issue 12.1 byte for byte.
func TestDyingLinkPublishTranscript(t *testing.T) {
	s, h, _ := startFake(t, Config{Model: simcom.SIM7600, Echo: EchoOn})
	h.send("AT+CMQTTSTART\r")
	h.expect("AT+CMQTTSTART\r" + ok + "\r\n+CMQTTSTART: 0\r\n")
	h.cmd(`AT+CMQTTACCQ=0,"c"`, `AT+CMQTTACCQ=0,"c"`+"\r"+ok)
	h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1`, `AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1`+"\r"+ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
	h.cmd("AT+CMQTTTOPIC=0,1", "AT+CMQTTTOPIC=0,1\r"+promp)
	h.send("t")
	h.expect(ok)
	if err := s.DyingLinkOnPublish(0, DyingLink{}); err != nil {
		t.Fatal(err)
	}
	h.cmd("AT+CMQTTPUB=0,1,60", "AT+CMQTTPUB=0,1,60\r\r\nOK\r\n\r\n+CMQTTPUB: 0,6\r\n\r\n+CMQTTCONNLOST: 0,1\r\n")
	h.quiet(s)
}

// TestDyingLinkLate: with LostAfter the CONNLOST comes that long after
// the result (the index reads as connected meanwhile: see the "never lost"
// case of TestDyingLinkPublish). A DISC before it frees the index, and the
// CONNLOST of the dead connection is not reported on the next one.
func TestDyingLinkLate(t *testing.T) {
	t.Run("lost later", func(t *testing.T) {
		const delay = 500 * time.Millisecond
		s, h, _ := startFake(t, Config{})
		h.start()
		h.connect("0")
		if err := s.Inject("dying pub 0 lost=500ms"); err != nil {
			t.Fatal(err)
		}
		h.data("AT+CMQTTTOPIC=0,1", "t", ok)
		h.cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 0,6\r\n")
		result := time.Now()
		h.expect("\r\n+CMQTTCONNLOST: 0,1\r\n")
		// The host reads the result a little after the modem wrote it, so
		// only half the delay is certain; it shows the CONNLOST was not at once.
		if waited := time.Since(result); waited < delay/2 {
			t.Errorf("CONNLOST %v after the result, want about %v", waited, delay)
		}
		h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n"+ok)
		h.quiet(s)
	})
	t.Run("disc first", func(t *testing.T) {
		s, h, _ := startFake(t, Config{})
		h.start()
		h.connect("0")
		if err := s.DyingLinkOnPublish(0, DyingLink{LostAfter: time.Hour}); err != nil {
			t.Fatal(err)
		}
		h.data("AT+CMQTTTOPIC=0,1", "t", ok)
		h.cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 0,6\r\n")
		h.cmd("AT+CMQTTDISC?", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n"+ok)
		h.cmd("AT+CMQTTDISC=0,60", ok+"\r\n+CMQTTDISC: 0,0\r\n")
		h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
		s.mu.Lock()
		armed := s.st.client(0).link
		s.mu.Unlock()
		if _, dead := armed.(deadLink); dead || armed == nil {
			t.Fatalf("index 0 after reconnecting: link %T", armed)
		}
		h.quiet(s)
	})
}

// TestDyingLinkSubscribe: the link dies under AT+CMQTTSUB (issue 12.6):
// "AT+CMQTTSUB=0,4,1,1 / > / OK / +CMQTTSUB: 0,6 / +CMQTTCONNLOST: 0,1",
// and the variant where the CONNLOST comes while the SUB waits for its
// result and no +CMQTTSUB result ever comes; both SUB forms.
func TestDyingLinkSubscribe(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject string
		stored bool
		answer string
	}{
		{"one topic", "dying sub 0", false, ok + "\r\n+CMQTTSUB: 0,6\r\n\r\n+CMQTTCONNLOST: 0,1\r\n"},
		{"one topic no result", "dying sub 0 noresult", false, ok + "\r\n+CMQTTCONNLOST: 0,1\r\n"},
		{"stored topics", "dying sub 0 delivered", true, ok + "\r\n+CMQTTSUB: 0,6\r\n\r\n+CMQTTCONNLOST: 0,1\r\n"},
		{"stored topics no result", "dying sub 0 noresult", true, ok + "\r\n+CMQTTCONNLOST: 0,1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, h, d := startFake(t, Config{Model: simcom.A7600, Echo: EchoOn})
			h.send("AT+CMQTTSTART\r")
			h.expect("AT+CMQTTSTART\r" + ok + "\r\n+CMQTTSTART: 0\r\n")
			h.cmd(`AT+CMQTTACCQ=0,"c"`, `AT+CMQTTACCQ=0,"c"`+"\r"+ok)
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1`, `AT+CMQTTCONNECT=0,"tcp://a.b.c",60,1`+"\r"+ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			if err := s.Inject(tc.inject); err != nil {
				t.Fatal(err)
			}
			if tc.stored {
				h.cmd("AT+CMQTTSUBTOPIC=0,4,1", "AT+CMQTTSUBTOPIC=0,4,1\r"+promp)
				h.send("in/#")
				h.expect(ok)
				h.cmd("AT+CMQTTSUB=0", "AT+CMQTTSUB=0\r"+tc.answer)
			} else {
				h.cmd("AT+CMQTTSUB=0,4,1,1", "AT+CMQTTSUB=0,4,1,1\r"+promp)
				h.send("in/#")
				h.expect(tc.answer)
			}
			link := d.last(t)
			if !link.wasDropped() || link.wasDisconnected() {
				t.Error("link not dropped without DISCONNECT")
			}
			link.mu.Lock()
			subs := len(link.subs)
			link.mu.Unlock()
			if want := map[bool]int{false: 0, true: 1}[strings.Contains(tc.inject, "delivered")]; subs != want {
				t.Errorf("%d subscribes reached the broker, want %d", subs, want)
			}
			// Not busy: the next command on the index answers at once.
			h.cmd("AT+CMQTTSUB=0,4,1", "AT+CMQTTSUB=0,4,1\r"+codeErr("+CMQTTSUB", 0, 11))
			h.quiet(s)
		})
	}
}

// TestDyingLinkArgs: arming errors name the problem.
func TestDyingLinkArgs(t *testing.T) {
	s, _, _ := startFake(t, Config{})
	for _, tc := range []struct{ cmd, want string }{
		{"dying", "modemsim: dying: want pub or sub first"},
		{"dying unsub 0", "modemsim: dying: want pub or sub first"},
		{"dying pub", "modemsim: dying: missing IDX"},
		{"dying pub 2", "modemsim: client index 2: want 0 or 1"},
		{"dying pub 0 cause=4", "modemsim: connection-lost cause 4: want 1, 2 or 3"},
		{"dying pub 0 cause=x", `modemsim: dying: cause "x" is not a number`},
		{"dying pub 0 lost=soon", `modemsim: dying: lost "soon": want a duration such as 2s or 500ms`},
		{"dying pub 0 quickly", `modemsim: dying: unexpected argument "quickly"`},
		{"dying sub 0 noresult lost=never", "modemsim: a dying link with neither result nor CONNLOST leaves the host nothing to read"},
	} {
		if err := s.Inject(tc.cmd); err == nil || err.Error() != tc.want {
			t.Errorf("Inject(%q) = %v, want %q", tc.cmd, err, tc.want)
		}
	}
	if err := s.DyingLinkOnPublish(0, DyingLink{LostAfter: -time.Second}); err == nil {
		t.Error("negative LostAfter: no error")
	}
}

// TestDyingLinkBroker: through a real broker, a publish lost under a dying
// link either reached the broker (Delivered) or not; the will is
// published since the link dies without DISCONNECT; the host's resend
// with DUP after reconnecting reaches the broker with the DUP flag.
func TestDyingLinkBroker(t *testing.T) {
	for _, delivered := range []bool{false, true} {
		name := "not delivered"
		if delivered {
			name = "delivered"
		}
		t.Run(name, func(t *testing.T) {
			b := startEmbedded(t, EmbeddedOptions{})
			obs := observe(t, b)
			will := newPeer(t, b.Addr())
			will.subscribe(t, "wills/dying")
			s, h := startSim(t, Config{Broker: b.URL(), Echo: EchoOff})
			h.start()
			h.cmd(`AT+CMQTTACCQ=0,"dying"`, ok)
			h.data("AT+CMQTTWILLTOPIC=0,11", "wills/dying", ok)
			h.data("AT+CMQTTWILLMSG=0,4,1", "gone", ok)
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			if err := s.DyingLinkOnPublish(0, DyingLink{Delivered: delivered}); err != nil {
				t.Fatal(err)
			}
			h.data("AT+CMQTTTOPIC=0,5", "q/one", ok)
			h.data("AT+CMQTTPAYLOAD=0,3", "msg", ok)
			h.cmd("AT+CMQTTPUB=0,1,60", ok+"\r\n+CMQTTPUB: 0,6\r\n\r\n+CMQTTCONNLOST: 0,1\r\n")
			obs.waitGone(t, "dying")
			if m := will.next(t); m.topic != "wills/dying" || m.payload != "gone" {
				t.Errorf("will: %+v", m)
			}
			h.cmd(`AT+CMQTTCONNECT=0,"tcp://broker.example",60,1`, ok+"\r\n+CMQTTCONNECT: 0,0\r\n")
			h.data("AT+CMQTTTOPIC=0,5", "q/one", ok)
			h.data("AT+CMQTTPAYLOAD=0,3", "msg", ok)
			h.cmd("AT+CMQTTPUB=0,1,60,0,1", ok+"\r\n+CMQTTPUB: 0,0\r\n")
			var got []mochipk.Packet
			for len(got) < map[bool]int{false: 1, true: 2}[delivered] {
				select {
				case pk := <-obs.publish:
					got = append(got, pk)
				case <-time.After(testWait):
					t.Fatalf("broker saw %d publishes", len(got))
				}
			}
			last := got[len(got)-1]
			if !last.FixedHeader.Dup || last.TopicName != "q/one" || !bytes.Equal(last.Payload, []byte("msg")) {
				t.Errorf("resend at the broker: dup %v %q %q", last.FixedHeader.Dup, last.TopicName, last.Payload)
			}
			if delivered && (got[0].FixedHeader.Dup || got[0].TopicName != "q/one") {
				t.Errorf("first copy: dup %v %q", got[0].FixedHeader.Dup, got[0].TopicName)
			}
			select {
			case pk := <-obs.publish:
				t.Errorf("extra publish %q dup %v", pk.TopicName, pk.FixedHeader.Dup)
			default:
			}
			h.quiet(s)
		})
	}
}
