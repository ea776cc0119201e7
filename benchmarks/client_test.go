package benchmarks

import (
	"io"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// clientOptions are root-client options for the emulator's in-memory link
// (the emulator redirects the broker address to its embedded broker).
func clientOptions(sim *modemsim.Sim, id string) *cellmqtt.ClientOptions {
	return clientOptionsOver(sim, sim.Conn(), id)
}

// clientOptionsOver is clientOptions over rw, a wrapped link to sim.
func clientOptionsOver(sim *modemsim.Sim, rw io.ReadWriteCloser, id string) *cellmqtt.ClientOptions {
	return cellmqtt.NewClientOptions().
		AddBroker("tcp://broker.example.com:1883").
		SetClientID(id).
		SetTransport(rw).
		SetModel(sim.Model()).
		SetConnectTimeout(opTimeout)
}

// connectClient connects a root client and disconnects it with the
// benchmark.
func connectClient(tb testing.TB, o *cellmqtt.ClientOptions) cellmqtt.Client {
	tb.Helper()
	c := cellmqtt.NewClient(o)
	waitToken(tb, c.Connect(), "connect")
	tb.Cleanup(func() { c.Disconnect(0) })
	return c
}

// token is what cellmqtt and paho tokens share.
type token interface {
	WaitTimeout(time.Duration) bool
	Error() error
}

// waitToken waits for a token and fails on its error.
func waitToken(tb testing.TB, t token, what string) {
	tb.Helper()
	if !t.WaitTimeout(opTimeout) {
		tb.Fatalf("%s: no answer within %v", what, opTimeout)
	}
	if err := t.Error(); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}
