package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// receiveBaud is the emulated link of the receive benchmark.
const receiveBaud = 3_000_000

// receivePayload is the size of the inbound messages: the models' maximum.
const receivePayload = 10240

// receiveTopic is the topic the inbound messages come on.
const receiveTopic = "bench/rx/10k"

// pahoPublisher is a real MQTT 3.1.1 client on broker.
func pahoPublisher(tb testing.TB, br *modemsim.EmbeddedBroker, id string) mqtt.Client {
	tb.Helper()
	o := mqtt.NewClientOptions().AddBroker(br.URL()).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	c := mqtt.NewClient(o)
	waitToken(tb, c.Connect(), "paho connect")
	tb.Cleanup(func() { c.Disconnect(0) })
	return c
}

// BenchmarkReceive receives 10240-byte messages, which the emulator
// streams in 1500-byte chunks, at 3,000,000 baud through modemsim into
// atmodem Session events. A real publisher on the embedded broker publishes
// every message of the iteration ahead (QoS 1), so the broker is never the
// bottleneck. It reports the rate from the first message event to the last
// (msgs/s), the link's limit for the bytes one message moved (the
// emulator's transcript), their ratio, and lost messages (must be 0).
func BenchmarkReceive(b *testing.B) {
	br := startBroker(b)
	sim := startSim(b, modemsim.Config{Baud: receiveBaud, Echo: modemsim.EchoOff}, br)
	_, s := sessionOn(b, sim, "bench-rx")
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := s.Subscribe(ctx, atmodem.Subscription{Topic: receiveTopic, QoS: 1}); err != nil {
		b.Fatal(err)
	}
	pub := pahoPublisher(b, br, "bench-rx-publisher")
	payload := payloadOf(receivePayload)
	n := max(b.N, 2) // a rate needs two arrivals
	before := settledWire(sim, Wire{}, 1)
	b.SetBytes(receivePayload)
	b.ResetTimer()

	var wg sync.WaitGroup
	wg.Add(1)
	var pubErr error
	go func() { // publish ahead
		defer wg.Done()
		toks := make([]mqtt.Token, n)
		for i := range toks {
			toks[i] = pub.Publish(receiveTopic, 1, false, payload)
		}
		for _, t := range toks {
			if !t.WaitTimeout(opTimeout) || t.Error() != nil {
				pubErr = fmt.Errorf("publisher: %v", t.Error())
				return
			}
		}
	}()
	var first, last time.Time
	got := 0
	idle := time.NewTimer(opTimeout)
	defer idle.Stop()
receive:
	for got < n {
		select {
		case ev := <-s.Events():
			if ev.Kind != atmodem.EventMessage {
				b.Fatalf("event %v: %v", ev.Kind, ev.Err)
			}
			if !bytes.Equal(ev.Message.Payload, payload) {
				b.Fatalf("message %d: payload of %d bytes differs", got, len(ev.Message.Payload))
			}
			last = time.Now()
			if got == 0 {
				first = last
			}
			got++
			idle.Reset(opTimeout)
		case <-idle.C:
			break receive
		}
	}
	b.StopTimer()
	wg.Wait()
	if pubErr != nil {
		b.Fatal(pubErr)
	}
	b.ReportMetric(float64(n-got), "lost")
	if got < n {
		b.Fatalf("received %d of %d messages", got, n)
	}
	moved := settledWire(sim, before, n).Sub(before)
	per := Wire{ToModem: moved.ToModem / n, ToHost: moved.ToHost / n}
	rate := float64(n-1) / last.Sub(first).Seconds()
	limit := LinkLimit(per, receiveBaud)
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(limit, "limit-msgs/s")
	b.ReportMetric(rate/limit, "ratio")
	b.ReportMetric(float64(per.Bytes()), "wirebytes/op")
}

// rxStream renders what the firmware sends for one inbound message on
// index 0: RXSTART, RXTOPIC and the topic, RXPAYLOAD chunks of at most
// chunk bytes, RXEND (the manuals' +CMQTTRX URCs).
func rxStream(topic string, payload []byte, chunk int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\r\n+CMQTTRXSTART: 0,%d,%d\r\n", len(topic), len(payload))
	fmt.Fprintf(&b, "\r\n+CMQTTRXTOPIC: 0,%d\r\n%s", len(topic), topic)
	for p := payload; len(p) > 0; {
		k := min(chunk, len(p))
		b.WriteString("\r\n+CMQTTRXPAYLOAD: 0," + strconv.Itoa(k) + "\r\n")
		b.Write(p[:k])
		p = p[k:]
	}
	b.WriteString("\r\n+CMQTTRXEND: 0\r\n")
	return b.Bytes()
}

// replayPort is a modem port that only talks: it serves a byte stream
// times times, 4096 bytes a read, then blocks until closed. Writes are
// discarded.
type replayPort struct {
	stream []byte
	times  int
	pos    int
	mu     sync.Mutex
	closed chan struct{}
	once   sync.Once
}

func newReplayPort(stream []byte, times int) *replayPort {
	return &replayPort{stream: stream, times: times, closed: make(chan struct{})}
}

func (r *replayPort) Read(p []byte) (int, error) {
	r.mu.Lock()
	if r.times == 0 {
		r.mu.Unlock()
		<-r.closed
		return 0, io.EOF
	}
	defer r.mu.Unlock()
	n := copy(p[:min(len(p), 4096)], r.stream[r.pos:])
	r.pos += n
	if r.pos == len(r.stream) {
		r.pos = 0
		r.times--
	}
	return n, nil
}

func (r *replayPort) Write(p []byte) (int, error) { return len(p), nil }

func (r *replayPort) Close() error {
	r.once.Do(func() { close(r.closed) })
	return nil
}

// BenchmarkReceiveReader measures the host side alone: atmodem's reader
// goroutine framing, assembling and routing 10240-byte messages in
// 1500-byte chunks from a port that replays b.N of them as fast as it is read,
// up to the Session's event channel, through the public API. MB/s counts
// payload bytes. (atmodem's BenchmarkReaderThroughput measures the framing
// and assembly without the goroutines and the event queue.)
func BenchmarkReceiveReader(b *testing.B) {
	payload := payloadOf(receivePayload)
	port := newReplayPort(rxStream(receiveTopic, payload, 1500), b.N)
	m := atmodem.New(port, atmodem.WithModel(atmodem.A7600))
	defer m.Close()
	s, err := m.Session(0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(receivePayload)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ev := <-s.Events()
		if ev.Kind != atmodem.EventMessage || len(ev.Message.Payload) != receivePayload {
			b.Fatalf("event %+v", ev)
		}
	}
	b.StopTimer()
}
