package benchmarks

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// opTimeout bounds every single step of a benchmark's setup.
const opTimeout = 30 * time.Second

// startBroker starts an embedded mochi broker closed with the benchmark.
func startBroker(tb testing.TB) *modemsim.EmbeddedBroker {
	tb.Helper()
	br, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { br.Close() })
	return br
}

// startSim starts an emulated modem in front of broker, closed with the
// benchmark. The transcript keeps everything (1 GiB bound), so counts taken
// from it are complete.
func startSim(tb testing.TB, cfg modemsim.Config, br *modemsim.EmbeddedBroker) *modemsim.Sim {
	tb.Helper()
	if br != nil {
		cfg.Broker = br.URL()
	}
	if cfg.Model == atmodem.AutoDetect {
		cfg.Model = atmodem.A7600
	}
	cfg.TranscriptLimit = 1 << 30
	sim, err := modemsim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sim.Close() })
	return sim
}

// sessionOn connects index 0 of a new atmodem.Modem on the emulator's
// in-memory link, as client id.
func sessionOn(tb testing.TB, sim *modemsim.Sim, id string) (*atmodem.Modem, *atmodem.Session) {
	tb.Helper()
	return sessionOver(tb, sim, sim.Conn(), id)
}

// sessionOver is sessionOn over rw, a wrapped link to sim, with the
// engine's opts.
func sessionOver(tb testing.TB, sim *modemsim.Sim, rw io.ReadWriteCloser, id string, opts ...atmodem.Option) (*atmodem.Modem, *atmodem.Session) {
	tb.Helper()
	m := atmodem.New(rw, append([]atmodem.Option{atmodem.WithModel(sim.Model())}, opts...)...)
	tb.Cleanup(func() { m.Close() })
	s, err := m.Session(0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := s.Connect(ctx, atmodem.ConnectOptions{Broker: "tcp://broker.example.com:1883", ClientID: id}); err != nil {
		tb.Fatal(err)
	}
	return m, s
}

// timedConn is a host's end of the link that measures the host's turn
// time: from the read that brought the last bytes of an answer (or prompt)
// to the host's next write, summed. In a conversation strictly in turn that
// is the time the host (engine, client, scheduler) adds to every exchange.
type timedConn struct {
	io.ReadWriteCloser
	mu       sync.Mutex
	lastRead time.Time // zero after a write
	turns    time.Duration
}

func (c *timedConn) Read(p []byte) (int, error) {
	n, err := c.ReadWriteCloser.Read(p)
	if n > 0 {
		now := time.Now()
		c.mu.Lock()
		c.lastRead = now
		c.mu.Unlock()
	}
	return n, err
}

func (c *timedConn) Write(p []byte) (int, error) {
	now := time.Now()
	c.mu.Lock()
	if !c.lastRead.IsZero() {
		c.turns += now.Sub(c.lastRead)
		c.lastRead = time.Time{}
	}
	c.mu.Unlock()
	return c.ReadWriteCloser.Write(p)
}

// turnTime returns the host's turn time so far.
func (c *timedConn) turnTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.turns
}

// wireNow counts what crossed the emulator's AT port so far.
func wireNow(sim *modemsim.Sim) Wire { return CountWire(sim.Transcript()) }

// topic9 is the 9-byte topic of the link benchmarks.
const topic9 = "sensors/1"

// payloadOf is n bytes of binary payload.
func payloadOf(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return p
}
