package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/compat"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// cpuPayload is the message of the CPU benchmarks: the 9-byte topic, 60
// bytes, QoS 1.
const cpuPayload = 60

// contender publishes one QoS 1 message and returns when it is
// acknowledged (PUBACK for MQTT, +CMQTTPUB: 0,0 for the modem).
type contender struct {
	name    string
	what    string
	setup   func(tb testing.TB) func() error
	baseFor string // the contender whose baseline this is
}

// contenders are the publishers the CPU benchmarks compare. Every one runs
// in this process with what it talks to: the emulator (and its paho client
// and the mochi broker behind it) for the native client and compat; the
// mochi broker for paho. The two raw baselines measure what the other end
// costs: pre-rendered AT bytes into the emulator, pre-rendered MQTT packets
// into mochi.
func contenders() []contender {
	return []contender{
		{name: "native-client", what: "cellmqtt.Client Publish+Wait over modemsim (Baud 0)", setup: setupNativeClient},
		{name: "native-session", what: "atmodem.Session.Publish over modemsim (Baud 0)", setup: setupNativeSession},
		{name: "compat-paho", what: "paho.mqtt.golang over compat over modemsim (Baud 0)", setup: setupCompatPaho},
		{name: "paho-tcp", what: "paho.mqtt.golang over loopback TCP to mochi", setup: setupPahoTCP},
		{name: "raw-at", what: "baseline: pre-rendered AT bytes into modemsim", setup: setupRawAT, baseFor: "native"},
		{name: "raw-mqtt", what: "baseline: pre-rendered MQTT packets over TCP to mochi", setup: setupRawMQTT, baseFor: "paho"},
	}
}

// instantSim is an emulator with an unlimited link and no latency in front
// of an embedded broker.
func instantSim(tb testing.TB) *modemsim.Sim {
	return startSim(tb, modemsim.Config{}, startBroker(tb))
}

func setupNativeClient(tb testing.TB) func() error {
	c := connectClient(tb, clientOptions(instantSim(tb), "cpu-native-client"))
	payload := payloadOf(cpuPayload)
	return func() error {
		t := c.Publish(topic9, 1, false, payload)
		if !t.WaitTimeout(opTimeout) {
			return fmt.Errorf("publish: no answer within %v", opTimeout)
		}
		return t.Error()
	}
}

func setupNativeSession(tb testing.TB) func() error {
	_, s := sessionOn(tb, instantSim(tb), "cpu-native-session")
	p := atmodem.Publish{Topic: topic9, Payload: payloadOf(cpuPayload), QoS: 1}
	ctx := context.Background()
	return func() error { return s.Publish(ctx, p) }
}

func setupCompatPaho(tb testing.TB) func() error {
	sim := instantSim(tb)
	m := atmodem.New(sim.Conn(), atmodem.WithModel(sim.Model()))
	tb.Cleanup(func() { m.Close() })
	o := mqtt.NewClientOptions().AddBroker("tcp://broker.example.com:1883").SetClientID("cpu-compat").
		SetAutoReconnect(false).SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	o.SetCustomOpenConnectionFn(compat.OpenConnectionFn(m))
	return pahoPublish(tb, o)
}

func setupPahoTCP(tb testing.TB) func() error {
	br := startBroker(tb)
	o := mqtt.NewClientOptions().AddBroker(br.URL()).SetClientID("cpu-paho").
		SetAutoReconnect(false).SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	return pahoPublish(tb, o)
}

// pahoPublish connects a paho client with o and returns its publish.
func pahoPublish(tb testing.TB, o *mqtt.ClientOptions) func() error {
	tb.Helper()
	c := mqtt.NewClient(o)
	waitToken(tb, c.Connect(), "paho connect")
	tb.Cleanup(func() { c.Disconnect(0) })
	payload := payloadOf(cpuPayload)
	return func() error {
		t := c.Publish(topic9, 1, false, payload)
		if !t.WaitTimeout(opTimeout) {
			return fmt.Errorf("publish: no answer within %v", opTimeout)
		}
		return t.Error()
	}
}

// setupRawAT connects index 0 with a Session, lets go of the port (the
// emulator stays connected), and drives the emulator with the publish's
// pre-rendered AT bytes, reading just far enough to know each step is
// answered: the emulator's own cost of a publish, with the least host work.
func setupRawAT(tb testing.TB) func() error {
	sim := instantSim(tb)
	m, _ := sessionOn(tb, sim, "cpu-raw-at")
	m.Close()
	conn := sim.Conn()
	tb.Cleanup(func() { conn.Close() })
	payload := payloadOf(cpuPayload)
	steps := []struct {
		send  []byte
		until []byte
	}{
		{[]byte(fmt.Sprintf("AT+CMQTTTOPIC=0,%d\r", len(topic9))), []byte("\r\n>")},
		{[]byte(topic9), []byte("OK\r\n")},
		{[]byte(fmt.Sprintf("AT+CMQTTPAYLOAD=0,%d\r", len(payload))), []byte("\r\n>")},
		{payload, []byte("OK\r\n")},
		{[]byte("AT+CMQTTPUB=0,1,60\r"), []byte("+CMQTTPUB: 0,0\r\n")},
	}
	r := &untilReader{r: conn, buf: make([]byte, 0, 4096)}
	return func() error {
		for _, s := range steps {
			if _, err := conn.Write(s.send); err != nil {
				return err
			}
			if err := r.until(s.until); err != nil {
				return fmt.Errorf("raw AT %q: %w", s.send, err)
			}
		}
		return nil
	}
}

// untilReader reads a stream until a marker, keeping what follows it.
type untilReader struct {
	r   io.Reader
	buf []byte
	tmp [4096]byte
}

func (u *untilReader) until(marker []byte) error {
	for {
		if i := bytes.Index(u.buf, marker); i >= 0 {
			u.buf = u.buf[:copy(u.buf, u.buf[i+len(marker):])]
			return nil
		}
		n, err := u.r.Read(u.tmp[:])
		if err != nil {
			return err
		}
		u.buf = append(u.buf, u.tmp[:n]...)
	}
}

// setupRawMQTT connects to mochi with a pre-rendered CONNECT and publishes
// pre-rendered QoS 1 PUBLISH packets, reading each PUBACK: mochi's and the
// loopback's cost of a publish, with the least client work.
func setupRawMQTT(tb testing.TB) func() error {
	br := startBroker(tb)
	conn, err := net.Dial("tcp", br.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.CleanSession, cp.ClientIdentifier, cp.Keepalive = "MQTT", 4, true, "cpu-raw-mqtt", 60
	if err := cp.Write(conn); err != nil {
		tb.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	if p, err := packets.ReadPacket(rd); err != nil {
		tb.Fatal(err)
	} else if ca, ok := p.(*packets.ConnackPacket); !ok || ca.ReturnCode != 0 {
		tb.Fatalf("CONNACK: %v", p)
	}
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.TopicName, pp.Qos, pp.MessageID, pp.Payload = topic9, 1, 1, payloadOf(cpuPayload)
	var wire bytes.Buffer
	if err := pp.Write(&wire); err != nil {
		tb.Fatal(err)
	}
	publish := wire.Bytes()
	ack := make([]byte, 4) // PUBACK: 0x40, 2, id
	return func() error {
		if _, err := conn.Write(publish); err != nil {
			return err
		}
		if _, err := io.ReadFull(rd, ack); err != nil {
			return err
		}
		if ack[0] != 0x40 {
			return fmt.Errorf("raw MQTT: got % x, want a PUBACK", ack)
		}
		return nil
	}
}

// cpuNow is the process's CPU time so far, user and system.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// schedMetric is the runtime's histogram of how long goroutines waited
// runnable before they ran. The runtime records one in 8 of these
// transitions (gTrackingPeriod), so 8 times its count estimates the
// goroutine wake-ups.
const schedMetric = "/sched/latencies:seconds"

// schedSampling is the runtime's sampling period of schedMetric.
const schedSampling = 8

// schedNow estimates the number of goroutine wake-ups so far.
func schedNow() uint64 {
	s := []metrics.Sample{{Name: schedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0
	}
	var n uint64
	for _, c := range s[0].Value.Float64Histogram().Counts {
		n += c
	}
	return n * schedSampling
}

// BenchmarkPublishCPU measures one QoS 1 publish of each contender: ns/op
// (wall time of a publish and its acknowledgement), cpu-ns/op (the whole
// process's CPU time, all goroutines: client, emulator or broker), B/op and
// allocs/op (the whole process), and wakeups/op (goroutines that became
// runnable and ran, the whole process, estimated from the runtime's
// 1-in-8 sample).
func BenchmarkPublishCPU(b *testing.B) {
	for _, c := range contenders() {
		b.Run(c.name, func(b *testing.B) {
			publish := c.setup(b)
			if err := publish(); err != nil { // warm up
				b.Fatal(err)
			}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			cpu, wakes := cpuNow(), schedNow()
			for range b.N {
				if err := publish(); err != nil {
					b.Fatal(err)
				}
			}
			cpu, wakes = cpuNow()-cpu, schedNow()-wakes
			b.StopTimer()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(wakes)/float64(b.N), "wakeups/op")
		})
	}
}

// costs are what a contender's publishes cost, in total and then per
// publish.
type costs struct {
	n                               int
	wall, cpu, bytes, allocs, wakes float64
}

// add runs n publishes and adds what they cost.
func (c *costs) add(tb testing.TB, n int, publish func() error) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu, wakes, start := cpuNow(), schedNow(), time.Now()
	for range n {
		if err := publish(); err != nil {
			tb.Fatal(err)
		}
	}
	wall, cpu, wakes := time.Since(start), cpuNow()-cpu, schedNow()-wakes
	runtime.ReadMemStats(&m1)
	c.n += n
	c.wall += float64(wall.Nanoseconds())
	c.cpu += float64(cpu.Nanoseconds())
	c.bytes += float64(m1.TotalAlloc - m0.TotalAlloc)
	c.allocs += float64(m1.Mallocs - m0.Mallocs)
	c.wakes += float64(wakes)
}

// perOp divides the totals by the publishes.
func (c costs) perOp() costs {
	f := float64(c.n)
	return costs{n: 1, wall: c.wall / f, cpu: c.cpu / f, bytes: c.bytes / f, allocs: c.allocs / f, wakes: c.wakes / f}
}

// ratioBlock is how many publishes a contender makes before the next one's
// turn: the contenders take turns, so a change in the machine's load
// falls on all of them alike.
const ratioBlock = 50

// BenchmarkPublishCPURatio runs b.N publishes of every contender in the same
// run, the contenders taking turns in blocks of 50, and reports ratios per
// publish:
//
//   - native/paho-cpu, -allocs, -bytes: the native client against paho over
//     TCP, gross (each with everything it talks to in the process);
//   - native-own/paho-own-cpu, -allocs: the same net of the baselines: the
//     native client minus raw-at (the emulator, its paho client and mochi),
//     paho minus raw-mqtt (mochi and the loopback);
//   - compat/native-cpu, -allocs: paho over compat against the native
//     client, both over the same emulator.
//
// ns/op is the sum of all contenders' wall time and means nothing alone.
func BenchmarkPublishCPURatio(b *testing.B) {
	cs := contenders()
	pubs := make([]func() error, len(cs))
	for i, c := range cs {
		pubs[i] = c.setup(b)
		if err := pubs[i](); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	b.ResetTimer()
	total := make([]costs, len(cs))
	for done := 0; done < b.N; done += ratioBlock {
		for i := range cs {
			total[i].add(b, min(ratioBlock, b.N-done), pubs[i])
		}
	}
	b.StopTimer()
	got := map[string]costs{}
	for i, c := range cs {
		got[c.name] = total[i].perOp()
	}
	native, paho, compatC := got["native-client"], got["paho-tcp"], got["compat-paho"]
	rawAT, rawMQTT := got["raw-at"], got["raw-mqtt"]
	b.ReportMetric(native.cpu/paho.cpu, "native/paho-cpu")
	b.ReportMetric(native.allocs/paho.allocs, "native/paho-allocs")
	b.ReportMetric(native.bytes/paho.bytes, "native/paho-bytes")
	b.ReportMetric((native.cpu-rawAT.cpu)/(paho.cpu-rawMQTT.cpu), "native-own/paho-own-cpu")
	b.ReportMetric((native.allocs-rawAT.allocs)/(paho.allocs-rawMQTT.allocs), "native-own/paho-own-allocs")
	b.ReportMetric(compatC.cpu/native.cpu, "compat/native-cpu")
	b.ReportMetric(compatC.allocs/native.allocs, "compat/native-allocs")
	b.ReportMetric((native.wakes-rawAT.wakes)/(paho.wakes-rawMQTT.wakes), "native-own/paho-own-wakeups")
	for _, name := range []string{"native-client", "paho-tcp", "raw-at", "raw-mqtt"} {
		b.ReportMetric(got[name].cpu, name+"-cpu-ns/op")
	}
}
