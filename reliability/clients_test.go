package reliability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/compat"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// publisher is one MQTT client over the emulated modem, as the fault
// matrix drives it: the native client or paho.mqtt.golang over compat.
type publisher interface {
	// publish hands one message over; the returned function waits for the
	// client's confirmation (context.DeadlineExceeded when ctx ends first).
	publish(topic, payload string, qos byte) func(ctx context.Context) error
	// subscribe subscribes to filter, discarding what arrives.
	subscribe(filter string, qos byte) error
	// lost counts the connection losses the client reported.
	lost() *signal
	// close disconnects and releases everything.
	close()
}

// pathKind is a client path of the matrix.
type pathKind struct {
	name string
	open func(sim *modemsim.Sim, model atmodem.Model, id string) (publisher, error)
	// strictTokens: every publish token must succeed. paho.mqtt.golang
	// fails the token of a publish whose write met a closed connection,
	// yet keeps the message in its store and resends it after the
	// reconnect, so on that path token errors are counted, not failed.
	strictTokens bool
}

var paths = []pathKind{
	{"native", openNative, true},
	{"paho+compat", openPaho, false},
}

// token is what both clients' tokens have.
type token interface {
	Done() <-chan struct{}
	Error() error
}

// tokenWait turns a token into a wait function.
func tokenWait(tok token) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-tok.Done():
			return tok.Error()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitToken waits up to waitFor for a token.
func waitToken(tok token) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	return tokenWait(tok)(ctx)
}

// nativePub is the native client (package cellmqtt). It reopens the
// emulator's port after an unplug through SetOpenTransport.
type nativePub struct {
	c    cellmqtt.Client
	lose *signal
}

func openNative(sim *modemsim.Sim, model atmodem.Model, id string) (publisher, error) {
	p := &nativePub{lose: newSignal()}
	o := cellmqtt.NewClientOptions().
		AddBroker("tcp://broker.invalid:1883"). // the emulator redirects to the embedded broker
		SetClientID(id).
		SetModel(model).
		SetOpenTransport(func(context.Context) (io.ReadWriteCloser, error) { return sim.Conn(), nil }).
		SetConnectRetryInterval(20 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectTimeout(5 * time.Second).
		SetConnectionLostHandler(func(cellmqtt.Client, error) { p.lose.fire() }).
		SetLogger(traceLogger())
	p.c = cellmqtt.NewClient(o)
	if err := waitToken(p.c.Connect()); err != nil {
		p.c.Disconnect(0)
		return nil, fmt.Errorf("native connect: %w", err)
	}
	return p, nil
}

func (p *nativePub) publish(topic, payload string, qos byte) func(context.Context) error {
	return tokenWait(p.c.Publish(topic, qos, false, payload))
}

func (p *nativePub) subscribe(filter string, qos byte) error {
	return waitToken(p.c.Subscribe(filter, qos, func(cellmqtt.Client, cellmqtt.Message) {}))
}

func (p *nativePub) lost() *signal { return p.lose }
func (p *nativePub) close()        { p.c.Disconnect(0) }

// pahoPub is paho.mqtt.golang with compat.OpenConnectionFn, as an
// application migrating from TCP uses it. After an unplug the modem's
// engine has ended (its transport reached EOF); the open function then
// attaches a new engine to the emulator, as an application would reopen
// its serial port.
type pahoPub struct {
	c     mqtt.Client
	lose  *signal
	sim   *modemsim.Sim
	model atmodem.Model
	store string // the FileStore's directory

	mu     sync.Mutex
	modem  *atmodem.Modem
	modems []*atmodem.Modem
}

func openPaho(sim *modemsim.Sim, model atmodem.Model, id string) (publisher, error) {
	// paho's default MemoryStore hands the same packet to the network
	// goroutine and to resume(), which sets its DUP flag during a reconnect:
	// a data race in paho itself (eclipse-paho/paho.mqtt.golang#703, open)
	// that -race reports when messages are published while it reconnects.
	// The FileStore keeps copies.
	dir, err := os.MkdirTemp("", "reliability-paho-store-")
	if err != nil {
		return nil, err
	}
	p := &pahoPub{lose: newSignal(), sim: sim, model: model, store: dir}
	p.modem = newModem(sim, model)
	p.modems = append(p.modems, p.modem)
	o := mqtt.NewClientOptions().AddBroker("tcp://broker.invalid:1883").SetClientID(id).
		SetCustomOpenConnectionFn(p.open).
		SetAutoReconnect(true).
		SetConnectRetryInterval(50 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectTimeout(20 * time.Second).
		SetWriteTimeout(waitFor).
		SetOrderMatters(false).
		SetStore(mqtt.NewFileStore(dir)).
		SetConnectionLostHandler(func(mqtt.Client, error) { p.lose.fire() })
	p.c = mqtt.NewClient(o)
	if err := waitToken(p.c.Connect()); err != nil {
		p.close()
		return nil, fmt.Errorf("paho connect: %w", err)
	}
	return p, nil
}

// open is the paho OpenConnectionFunc: compat over the current engine, a
// new engine when the last one ended.
func (p *pahoPub) open(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	p.mu.Lock()
	select {
	case <-p.modem.Done():
		p.modem = newModem(p.sim, p.model)
		p.modems = append(p.modems, p.modem)
	default:
	}
	m := p.modem
	p.mu.Unlock()
	// As the native path: 5 s for the connect sequence, not the manual's
	// 120 s of AT+CMQTTSTART, so a lost answer costs a retry, not minutes.
	return compat.OpenConnectionFn(m, compat.WithLogger(traceLogger()), compat.WithConnectTimeout(5*time.Second))(uri, o)
}

func (p *pahoPub) publish(topic, payload string, qos byte) func(context.Context) error {
	return tokenWait(p.c.Publish(topic, qos, false, payload))
}

func (p *pahoPub) subscribe(filter string, qos byte) error {
	return waitToken(p.c.Subscribe(filter, qos, func(mqtt.Client, mqtt.Message) {}))
}

func (p *pahoPub) lost() *signal { return p.lose }

func (p *pahoPub) close() {
	p.c.Disconnect(250)
	p.closeModems()
	_ = os.RemoveAll(p.store)
}

func (p *pahoPub) closeModems() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.modems {
		_ = m.Close() // an engine that ended by itself reports why; nothing to do
	}
}

// newModem is an AT engine on a new connection to the emulator.
func newModem(sim *modemsim.Sim, model atmodem.Model) *atmodem.Modem {
	return atmodem.New(sim.Conn(), atmodem.WithModel(model), atmodem.WithLogger(traceLogger()))
}

// traceLogger logs the client's and the engine's decisions and the AT
// traffic to stderr when CELLMQTT_TRACE is set, for a failing cell.
func traceLogger() *slog.Logger {
	if os.Getenv("CELLMQTT_TRACE") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
