package benchmarks

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/compat"
	"github.com/cellmqtt/cellmqtt/internal/netdelay"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// The throughput of a cellular link (issue 18): a broker round trip of
// 100 or 300 ms between the modem and its broker, 115200 baud on the AT
// port, 100-byte payloads on a 9-byte topic, QoS 0 and 1. Every path is
// measured in the same process and run, against the same embedded broker
// kind, with the same delay:
//
//   - native: the root cellmqtt.Client over the emulated modem;
//   - compat: paho.mqtt.golang over compat.OpenConnectionFn over the same;
//   - native-2idx: two root clients, indexes 0 and 1, on one modem, each
//     with half of the messages;
//   - paho-tcp: paho.mqtt.golang over TCP through the same delay (a modem
//     in RNDIS/ECM mode);
//   - paho-ppp: the same, each direction limited to 11,520 bytes a second
//     (PPP over the same 115200-baud UART; MQTT bytes only).
//
// The modem paths run on three kinds of firmware: "w1", the default window
// of 1 (one result pending at a time, what the client did before, on
// firmware that refuses pipelining); "accept", a window of 32 on firmware
// that takes pipelining; "refuse", a window of 32 on firmware that answers
// 14 (the client finds out at the first pipelined publish and goes on one
// at a time).
//
// msgs/s is delivered messages a second at a subscriber on the broker (no
// delay): the messages after the first over the time from the first's
// arrival to the last's, so that the one-way latency of the first message
// and the wait for the last acknowledgement, which do not depend on the
// rate, do not count; every token must have succeeded. burst-msgs/s is the
// plain count over the time from the first Publish until every token
// completed and the subscriber got every message. For the modem paths limit-msgs/s is what the line allows
// when commands and answers take turns (the bytes of a publish both ways,
// counted from the emulator's transcript), duplex-msgs/s what it allows
// when both directions carry at once (the busier direction's bytes), and
// ratio is msgs/s over limit-msgs/s.

// cellularBaud is the AT port's speed; cellularPPPRate the byte rate of PPP
// on the same UART (8N1: 10 bits a byte).
const (
	cellularBaud    = 115200
	cellularPPPRate = cellularBaud / BitsPerByte
	cellularPayload = 100
	cellularWindow  = 32
	cellularTopic   = topic9
)

// cellularFirmware is a kind of firmware and the window used on it.
type cellularFirmware struct {
	name     string
	pipeline modemsim.PipelineMode
	window   int
}

var (
	fwW1     = cellularFirmware{"w1", modemsim.PipelineBusy14, 1}
	fwAccept = cellularFirmware{"accept", modemsim.PipelineAccept, cellularWindow}
	fwRefuse = cellularFirmware{"refuse", modemsim.PipelineBusy14, cellularWindow}
)

// cellularCase is one measured configuration.
type cellularCase struct {
	path string
	fw   cellularFirmware // modem paths only
	qos  byte
	rtt  time.Duration
}

func (c cellularCase) name() string {
	fw := ""
	if c.fw.name != "" {
		fw = "/" + c.fw.name
	}
	return fmt.Sprintf("%s%s/qos%d/rtt%d", c.path, fw, c.qos, c.rtt.Milliseconds())
}

// cellularCases are the configurations of BenchmarkCellular.
func cellularCases() []cellularCase {
	var cs []cellularCase
	for _, rtt := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond} {
		for _, qos := range []byte{0, 1} {
			for _, path := range []string{"native", "compat"} {
				for _, fw := range []cellularFirmware{fwW1, fwAccept, fwRefuse} {
					cs = append(cs, cellularCase{path: path, fw: fw, qos: qos, rtt: rtt})
				}
			}
			if qos == 1 {
				cs = append(cs, cellularCase{path: "native-2idx", fw: fwW1, qos: qos, rtt: rtt},
					cellularCase{path: "native-2idx", fw: fwRefuse, qos: qos, rtt: rtt})
			}
			cs = append(cs, cellularCase{path: "paho-tcp", qos: qos, rtt: rtt}, cellularCase{path: "paho-ppp", qos: qos, rtt: rtt})
		}
	}
	return cs
}

// BenchmarkCellular publishes b.N messages through each path and reports
// the delivered rate; see the top of this file. Run it with a fixed count
// of messages, e.g. -benchtime 40x (BENCHMARKS.md has the command).
func BenchmarkCellular(b *testing.B) {
	for _, c := range cellularCases() {
		b.Run(c.name(), func(b *testing.B) { runCellular(b, c) })
	}
}

// counter is a subscriber on the broker that counts the messages it got
// and when the first and the last came.
type counter struct {
	mu          sync.Mutex
	n           int
	want        int
	first, last time.Time
	done        chan struct{}
}

func (c *counter) expect(n int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.want, c.done = 0, n, make(chan struct{})
	return c.done
}

func (c *counter) got() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.n == 1 {
		c.first = now
	}
	c.last = now
	if c.n == c.want {
		close(c.done)
	}
}

// rate is the messages after the first over the time from the first's
// arrival to the last's.
func (c *counter) rate() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n < 2 {
		return 0
	}
	return float64(c.n-1) / c.last.Sub(c.first).Seconds()
}

// subscribe connects a counting subscriber to the broker.
func subscribe(b *testing.B, br *modemsim.EmbeddedBroker) *counter {
	b.Helper()
	cnt := &counter{done: make(chan struct{})}
	o := mqtt.NewClientOptions().AddBroker(br.URL()).SetClientID("cell-counter").SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	waitToken(b, c.Connect(), "counter connect")
	waitToken(b, c.Subscribe(cellularTopic, 1, func(mqtt.Client, mqtt.Message) { cnt.got() }), "counter subscribe")
	b.Cleanup(func() { c.Disconnect(0) })
	return cnt
}

// publisher publishes one message and returns its token.
type publisher func(payload []byte) token

func runCellular(b *testing.B, c cellularCase) {
	br := startBroker(b)
	cnt := subscribe(b, br)
	var sim *modemsim.Sim
	var pubs []publisher
	switch c.path {
	case "native", "compat", "native-2idx":
		sim = startSim(b, modemsim.Config{Baud: cellularBaud, RTT: c.rtt, Pipeline: c.fw.pipeline}, br)
		pubs = modemPublishers(b, sim, c)
	case "paho-tcp", "paho-ppp":
		path := netdelay.Path{Delay: c.rtt / 2}
		if c.path == "paho-ppp" {
			path.Rate = cellularPPPRate
		}
		pubs = []publisher{cellPahoPublisher(b, pahoDelayed(br, path), c.qos)}
	default:
		b.Fatalf("unknown path %q", c.path)
	}
	payload := payloadOf(cellularPayload)
	var before Wire
	if sim != nil {
		before = settledWire(sim, Wire{}, 1)
	}
	delivered := cnt.expect(b.N)
	toks := make([]token, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range toks {
		toks[i] = pubs[i%len(pubs)](payload)
	}
	for _, t := range toks {
		waitToken(b, t, "publish")
	}
	select {
	case <-delivered:
	case <-time.After(opTimeout):
		b.Fatalf("the subscriber got fewer than %d messages", b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	rate := cnt.rate()
	if b.N < 2 {
		return // the first call of a benchmark, with b.N = 1, only warms up
	}
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "burst-msgs/s")
	if sim == nil {
		return
	}
	moved := settledWire(sim, before, b.N).Sub(before)
	per := Wire{ToModem: moved.ToModem / b.N, ToHost: moved.ToHost / b.N, Commands: moved.Commands / b.N}
	limit := LinkLimit(per, cellularBaud)
	b.ReportMetric(limit, "limit-msgs/s")
	b.ReportMetric(float64(cellularBaud)/BitsPerByte/float64(max(per.ToModem, per.ToHost)), "duplex-msgs/s")
	b.ReportMetric(rate/limit, "ratio")
	b.ReportMetric(float64(per.Bytes()), "wirebytes/op")
}

// modemPublishers connects the modem path of c on sim: one publisher per
// client.
func modemPublishers(b *testing.B, sim *modemsim.Sim, c cellularCase) []publisher {
	switch c.path {
	case "native":
		cl := connectClient(b, clientOptions(sim, "cell-native").SetMaxInflight(c.fw.window))
		return []publisher{nativePublisher(cl, c.qos)}
	case "native-2idx":
		m := atmodem.New(sim.Conn(), atmodem.WithModel(sim.Model()))
		b.Cleanup(func() { m.Close() })
		var pubs []publisher
		for i := range 2 {
			o := cellmqtt.NewClientOptions().AddBroker("tcp://broker.example.com:1883").
				SetClientID(fmt.Sprintf("cell-2idx-%d", i)).SetModem(m).SetClientIndex(i).
				SetConnectTimeout(opTimeout).SetMaxInflight(c.fw.window)
			pubs = append(pubs, nativePublisher(connectClient(b, o), c.qos))
		}
		return pubs
	}
	m := atmodem.New(sim.Conn(), atmodem.WithModel(sim.Model()))
	b.Cleanup(func() { m.Close() })
	o := mqtt.NewClientOptions().AddBroker("tcp://broker.example.com:1883").SetClientID("cell-compat").
		SetAutoReconnect(false).SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	o.SetCustomOpenConnectionFn(compat.OpenConnectionFn(m, compat.WithMaxInflight(c.fw.window)))
	return []publisher{cellPahoPublisher(b, o, c.qos)}
}

func nativePublisher(cl cellmqtt.Client, qos byte) publisher {
	return func(payload []byte) token { return cl.Publish(cellularTopic, qos, false, payload) }
}

// pahoDelayed are paho.mqtt.golang options whose TCP connection to br goes
// through path.
func pahoDelayed(br *modemsim.EmbeddedBroker, path netdelay.Path) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().AddBroker(br.URL()).SetClientID("cell-paho").
		SetAutoReconnect(false).SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	o.SetCustomOpenConnectionFn(func(*url.URL, mqtt.ClientOptions) (net.Conn, error) {
		c, err := net.Dial("tcp", br.Addr())
		if err != nil {
			return nil, err
		}
		return netdelay.Wrap(c, path), nil
	})
	return o
}

// cellPahoPublisher connects a paho.mqtt.golang client with o; it publishes
// with qos.
func cellPahoPublisher(b *testing.B, o *mqtt.ClientOptions, qos byte) publisher {
	b.Helper()
	c := mqtt.NewClient(o)
	waitToken(b, c.Connect(), "paho connect")
	b.Cleanup(func() { c.Disconnect(250) })
	return func(payload []byte) token { return c.Publish(cellularTopic, qos, false, payload) }
}
