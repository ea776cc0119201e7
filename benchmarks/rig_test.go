package benchmarks

import (
	"context"
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
	m := atmodem.New(sim.Conn(), atmodem.WithModel(sim.Model()))
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
