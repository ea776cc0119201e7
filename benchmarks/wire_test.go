package benchmarks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// wireServer is the broker address every wire benchmark connects to (the
// emulator redirects it to the embedded broker); its length is on the wire.
const wireServer = "tcp://broker.example.com:1883"

// rawStep is one step of a hand-written AT sequence: bytes to send and the
// answer that ends the step.
type rawStep struct {
	send, until string
}

// minimalConnect is the shortest connect the manuals allow for a plain
// broker with payloads of any bytes: start the service, acquire the index
// (server type 0 is the default), turn the modem's UTF-8 check off, connect
// (keepalive is required; clean session 1 as the clients use).
func minimalConnect(id string) []rawStep {
	return []rawStep{
		{"AT+CMQTTSTART\r", "+CMQTTSTART: 0\r\n"},
		{fmt.Sprintf("AT+CMQTTACCQ=0,%q\r", id), "OK\r\n"},
		{"AT+CMQTTCFG=\"checkUTF8\",0,0\r", "OK\r\n"},
		{fmt.Sprintf("AT+CMQTTCONNECT=0,%q,60,1\r", wireServer), "+CMQTTCONNECT: 0,0\r\n"},
	}
}

// minimalPublish is the shortest publish: TOPIC and its data, PAYLOAD and
// its data, PUB with the required pub_timeout.
func minimalPublish(topic string, payload []byte, qos byte) []rawStep {
	return []rawStep{
		{fmt.Sprintf("AT+CMQTTTOPIC=0,%d\r", len(topic)), "\r\n>"},
		{topic, "OK\r\n"},
		{fmt.Sprintf("AT+CMQTTPAYLOAD=0,%d\r", len(payload)), "\r\n>"},
		{string(payload), "OK\r\n"},
		{fmt.Sprintf("AT+CMQTTPUB=0,%d,60\r", qos), "+CMQTTPUB: 0,0\r\n"},
	}
}

// runRaw sends the steps on a fresh attachment of sim.
func runRaw(tb testing.TB, sim *modemsim.Sim, steps []rawStep) {
	tb.Helper()
	conn := sim.Conn()
	defer conn.Close()
	r := &untilReader{r: conn}
	for _, s := range steps {
		if _, err := conn.Write([]byte(s.send)); err != nil {
			tb.Fatal(err)
		}
		if err := r.until([]byte(s.until)); err != nil {
			tb.Fatalf("%q: %v", s.send, err)
		}
	}
}

// scope is a testing.TB whose Cleanup functions run when close is called,
// so each operation of a benchmark releases what it started.
type scope struct {
	testing.TB
	fns []func()
}

func (s *scope) Cleanup(f func()) { s.fns = append(s.fns, f) }

func (s *scope) close() {
	for i := len(s.fns) - 1; i >= 0; i-- {
		s.fns[i]()
	}
	s.fns = nil
}

// wireOp is one way to connect or publish; run returns what it moved.
type wireOp struct {
	name string
	run  func(tb testing.TB, sim *modemsim.Sim, id string) Wire
}

// connectWire connects with connect on a fresh modem and counts everything.
func connectWire(connect func(tb testing.TB, sim *modemsim.Sim, id string)) func(testing.TB, *modemsim.Sim, string) Wire {
	return func(tb testing.TB, sim *modemsim.Sim, id string) Wire {
		connect(tb, sim, id)
		return settledWire(sim, Wire{}, 1)
	}
}

// publishWire sets up with setup and counts what publish moves.
func publishWire(setup func(tb testing.TB, sim *modemsim.Sim, id string) func()) func(testing.TB, *modemsim.Sim, string) Wire {
	return func(tb testing.TB, sim *modemsim.Sim, id string) Wire {
		publish := setup(tb, sim, id)
		before := settledWire(sim, Wire{}, 1)
		publish()
		return settledWire(sim, before, 1).Sub(before)
	}
}

// BenchmarkWire counts the AT commands and bytes (both ways, echo on as the
// firmware starts) of one connect on a freshly started modem, of one
// reconnect after a connection loss (from the +CMQTTCONNLOST URC on; the
// shortest is CONNECT alone, the modem keeps the service and the client)
// and of one
// publish (9-byte topic, 60 bytes, QoS 1), for the Session, the root client
// (model given, and auto-detected as by default) and the shortest sequence
// the manual allows, sent by hand. It reports cmds/op and wirebytes/op next
// to the shortest sequence's min-cmds/op and min-wirebytes/op, and
// wirebytes/min, the ratio of bytes to the shortest. Every operation runs
// on a fresh emulator (Baud 0); ns/op is that whole setup.
func BenchmarkWire(b *testing.B) {
	br := startBroker(b)
	payload := payloadOf(60)
	connects := []wireOp{
		{"session", connectWire(func(tb testing.TB, sim *modemsim.Sim, id string) { sessionOn(tb, sim, id) })},
		{"client", connectWire(func(tb testing.TB, sim *modemsim.Sim, id string) {
			connectClient(tb, clientOptions(sim, id))
		})},
		{"client-autodetect", connectWire(func(tb testing.TB, sim *modemsim.Sim, id string) {
			connectClient(tb, clientOptions(sim, id).SetModel(atmodem.AutoDetect))
		})},
		{"minimal", connectWire(func(tb testing.TB, sim *modemsim.Sim, id string) { runRaw(tb, sim, minimalConnect(id)) })},
	}
	publishes := []wireOp{
		{"session", publishWire(func(tb testing.TB, sim *modemsim.Sim, id string) func() {
			_, s := sessionOn(tb, sim, id)
			return func() {
				if err := s.Publish(context.Background(), atmodem.Publish{Topic: topic9, Payload: payload, QoS: 1}); err != nil {
					tb.Fatal(err)
				}
			}
		})},
		{"client", publishWire(func(tb testing.TB, sim *modemsim.Sim, id string) func() {
			c := connectClient(tb, clientOptions(sim, id))
			return func() { waitToken(tb, c.Publish(topic9, 1, false, payload), "publish") }
		})},
		{"minimal", publishWire(func(tb testing.TB, sim *modemsim.Sim, id string) func() {
			m, _ := sessionOn(tb, sim, id)
			m.Close()
			return func() { runRaw(tb, sim, minimalPublish(topic9, payload, 1)) }
		})},
	}
	reconnects := []wireOp{
		{"session", func(tb testing.TB, sim *modemsim.Sim, id string) Wire {
			_, s := sessionOn(tb, sim, id)
			before := settledWire(sim, Wire{}, 1)
			if err := sim.DropConnection(0, modemsim.CauseSocketClosed); err != nil {
				tb.Fatal(err)
			}
			if err := awaitLost(s); err != nil {
				tb.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			if err := s.Connect(ctx, atmodem.ConnectOptions{Broker: wireServer, ClientID: id}); err != nil {
				tb.Fatal(err)
			}
			return settledWire(sim, before, 1).Sub(before)
		}},
		{"client", func(tb testing.TB, sim *modemsim.Sim, id string) Wire {
			connected := make(chan struct{}, 2)
			o := clientOptions(sim, id).SetConnectRetryInterval(time.Millisecond).
				SetOnConnectHandler(func(cellmqtt.Client) { connected <- struct{}{} })
			connectClient(tb, o)
			if err := awaitSignal(connected); err != nil {
				tb.Fatal(err)
			}
			before := settledWire(sim, Wire{}, 1)
			if err := sim.DropConnection(0, modemsim.CauseSocketClosed); err != nil {
				tb.Fatal(err)
			}
			if err := awaitSignal(connected); err != nil {
				tb.Fatal(err)
			}
			return settledWire(sim, before, 1).Sub(before)
		}},
		{"minimal", func(tb testing.TB, sim *modemsim.Sim, id string) Wire {
			runRaw(tb, sim, minimalConnect(id))
			before := settledWire(sim, Wire{}, 1)
			if err := sim.DropConnection(0, modemsim.CauseSocketClosed); err != nil {
				tb.Fatal(err)
			}
			c := minimalConnect(id)
			runRaw(tb, sim, c[len(c)-1:])
			return settledWire(sim, before, 1).Sub(before)
		}},
	}
	n := 0
	count := func(tb testing.TB, op wireOp) Wire {
		n++
		sc := &scope{TB: tb}
		defer sc.close()
		sim := startSim(sc, modemsim.Config{}, br)
		return op.run(sc, sim, fmt.Sprintf("wire-%06d", n)) // same length every time
	}
	for _, group := range []struct {
		name string
		ops  []wireOp
	}{{"connect", connects}, {"reconnect", reconnects}, {"publish", publishes}} {
		shortest := count(b, group.ops[len(group.ops)-1])
		for _, op := range group.ops {
			b.Run(group.name+"/"+op.name, func(b *testing.B) {
				var w Wire
				for range b.N {
					w = count(b, op)
				}
				b.ReportMetric(float64(w.Commands), "cmds/op")
				b.ReportMetric(float64(w.Bytes()), "wirebytes/op")
				b.ReportMetric(float64(shortest.Commands), "min-cmds/op")
				b.ReportMetric(float64(shortest.Bytes()), "min-wirebytes/op")
				b.ReportMetric(float64(w.Bytes())/float64(shortest.Bytes()), "wirebytes/min")
			})
		}
	}
}
