package benchmarks

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/bridge"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// startBridge starts a bridge on the emulator with the out rule
// "sensors/# out qos", its durable queue in a temporary directory, and
// waits until it is connected.
func startBridge(tb testing.TB, m *atmodem.Modem, qos byte) *bridge.Bridge {
	tb.Helper()
	cfg, err := bridge.ParseConfig(strings.NewReader(fmt.Sprintf(
		"connection bench\naddress broker.example.com\nremote_clientid bench-bridge\nnotifications false\ntopic sensors/# out %d\ntopic cmd/# in 1\n", qos)), "bench.conf")
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	b, err := bridge.Start(cfg, bridge.Options{Modem: m, Listener: ln, QueueDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	deadline := time.Now().Add(opTimeout)
	for !b.Connected() {
		if time.Now().After(deadline) {
			tb.Fatal("the bridge did not connect")
		}
		time.Sleep(5 * time.Millisecond) // the state has no channel
	}
	return b
}

// pahoOn connects a paho client to addr (host:port).
func pahoOn(tb testing.TB, addr, id string) mqtt.Client {
	tb.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(opTimeout) || tok.Error() != nil {
		tb.Fatalf("connect %s: %v", id, tok.Error())
	}
	tb.Cleanup(func() { c.Disconnect(0) })
	return c
}

// BenchmarkBridgeLink measures the bridge the way BenchmarkLinkClient
// measures the client: a local paho client publishes every message of the
// iteration to the bridge's local broker at once, and the time runs until
// the last one reached a subscriber on the remote broker, through the
// durable out queue and the emulated modem at 115200 baud (echo on). The
// metrics are BenchmarkLinkSession's: msgs/s against the link's limit for
// the bytes each message moved on the AT port.
func BenchmarkBridgeLink(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		for _, size := range []int{60, 1000} {
			b.Run(fmt.Sprintf("qos%d/%dB", qos, size), func(b *testing.B) {
				br := startBroker(b)
				sim := startSim(b, modemsim.Config{Baud: linkBaud, Echo: modemsim.EchoOn}, br)
				tc := &timedConn{ReadWriteCloser: sim.Conn()}
				m := atmodem.New(tc, atmodem.WithModel(sim.Model()))
				b.Cleanup(func() { m.Close() })
				bridge := startBridge(b, m, qos)

				arrived := make(chan struct{}, b.N)
				far := pahoOn(b, br.Addr(), "far")
				if tok := far.Subscribe("sensors/#", 1, func(mqtt.Client, mqtt.Message) { arrived <- struct{}{} }); !tok.WaitTimeout(opTimeout) {
					b.Fatal("subscribe timed out")
				}
				local := pahoOn(b, bridge.Addr(), "local")
				payload := payloadOf(size)
				before := settledWire(sim, Wire{}, 1)
				turns := tc.turnTime()
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					local.Publish(topic9, qos, false, payload)
				}
				timeout := time.After(opTimeout + time.Duration(b.N)*100*time.Millisecond)
				for i := range b.N {
					select {
					case <-arrived:
					case <-timeout:
						b.Fatalf("%d of %d messages arrived", i, b.N)
					}
				}
				elapsed := time.Since(start)
				b.StopTimer()
				reportLink(b, sim, before, elapsed, tc.turnTime()-turns, b.N)
			})
		}
	}
}

// BenchmarkBridgeClients measures the memory of the bridge with 10 and 100
// local clients connected at once. Each client is a bare MQTT 3.1.1
// connection (no client library in this process to count): it subscribes
// cmd/<i> at QoS 1, publishes one QoS 1 message that goes out over the
// emulated modem and waits for its PUBACK; then a message from the remote
// broker comes in to every client. Reported after a garbage collection:
// the bridge's heap with no client (bridge-heap-bytes: local broker,
// uplink client, queues), with the clients (heap-bytes), the difference per
// client (heap-per-client-bytes, including the test's own connection
// object), and goroutines per client. One op is the whole run.
func BenchmarkBridgeClients(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			var bridgeHeap, heap, perClient, goroutines float64
			for range b.N {
				bh, h, g := bridgeMemory(b, n)
				bridgeHeap += float64(bh)
				heap += float64(h)
				perClient += float64(h-bh) / float64(n)
				goroutines += float64(g) / float64(n)
			}
			k := float64(b.N)
			b.ReportMetric(bridgeHeap/k, "bridge-heap-bytes")
			b.ReportMetric(heap/k, "heap-bytes")
			b.ReportMetric(perClient/k, "heap-per-client-bytes")
			b.ReportMetric(goroutines/k, "goroutines-per-client")
		})
	}
}

// bridgeMemory runs one bridge with n clients and returns the heap the
// bridge holds with none and with n, and the goroutines the n clients add.
func bridgeMemory(b *testing.B, n int) (bridgeHeap, heap uint64, goroutines int) {
	b.Helper()
	br, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	sim, err := modemsim.New(modemsim.Config{Model: atmodem.A7600, Broker: br.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	m := atmodem.New(sim.Conn(), atmodem.WithModel(atmodem.A7600))
	defer m.Close()
	far := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(br.URL()).SetClientID("far").SetAutoReconnect(false))
	if tok := far.Connect(); !tok.WaitTimeout(opTimeout) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer far.Disconnect(0)

	base := settledHeap()
	bridge := startBridge(b, m, 1)
	defer bridge.Close()
	bridgeHeap = settledHeap() - base
	g0 := runtime.NumGoroutine()

	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawClient(b, bridge.Addr(), i)
		defer conns[i].Close()
	}
	for i := range n {
		far.Publish(fmt.Sprintf("cmd/%d", i), 1, false, "to one client").Wait()
	}
	for _, c := range conns {
		readPacket(b, c, "publish from the remote broker")
	}
	heap = settledHeap() - base
	goroutines = runtime.NumGoroutine() - g0
	return bridgeHeap, heap, goroutines
}

// settledHeap is the heap in use after a garbage collection.
func settledHeap() uint64 {
	runtime.GC()
	runtime.GC()
	return heapNow()
}

// rawClient connects client i with bare MQTT 3.1.1 packets: CONNECT,
// SUBSCRIBE cmd/<i> (QoS 1) and one QoS 1 PUBLISH to sensors/<i>, each
// answered.
func rawClient(tb testing.TB, addr string, i int) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.CleanSession, cp.Keepalive = "MQTT", 4, true, 60
	cp.ClientIdentifier = fmt.Sprintf("raw-%d", i)
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID, sp.Topics, sp.Qoss = 1, []string{fmt.Sprintf("cmd/%d", i)}, []byte{1}
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.MessageID, pp.Qos, pp.TopicName, pp.Payload = 2, 1, fmt.Sprintf("sensors/%d", i), []byte("21.5")
	for _, p := range []packets.ControlPacket{cp, sp, pp} {
		if err := p.Write(c); err != nil {
			tb.Fatal(err)
		}
		readPacket(tb, c, p.String())
	}
	return c
}

// readPacket reads one packet within opTimeout.
func readPacket(tb testing.TB, c net.Conn, what string) {
	tb.Helper()
	_ = c.SetReadDeadline(time.Now().Add(opTimeout))
	if _, err := packets.ReadPacket(c); err != nil {
		tb.Fatalf("answer to %s: %v", what, err)
	}
	_ = c.SetReadDeadline(time.Time{})
}
