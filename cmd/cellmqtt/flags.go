package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// modemGroup is the help heading of the shared modem flags.
const modemGroup = "Modem"

// modemFlags are the flags every subcommand that talks to a modem shares.
type modemFlags struct {
	port        string // serial port path, "auto", or tcp://host:port (a TCP bridge to an AT port)
	baud        int
	model       string // auto, a7600, sim7600
	clientIndex int
	apn         string
	trace       bool
	sim         bool // run against an in-process emulator and embedded broker
	// warnings, when set, gets the engine's warnings without --trace.
	warnings *slog.Logger
	// simBaud is the emulated line speed with --sim (0: unlimited).
	simBaud int
}

// register adds the modem flags to fs.
func (mf *modemFlags) register(fs *flagSet, withClient bool) {
	fs.String(&mf.port, "port", "PATH|auto", "", modemGroup, "the modem's AT port: a serial device, auto (see cellmqtt ports; the default without --sim), or tcp://HOST:PORT for a TCP bridge such as cellmqtt sim --listen; the broker's port is -p")
	fs.Int(&mf.baud, "baud", "N", 115200, modemGroup, "serial baud rate")
	fs.String(&mf.model, "model", "auto|a7600|sim7600", "auto", modemGroup, "modem family; auto asks the modem (ATI, AT+CGMM)")
	if withClient {
		fs.Int(&mf.clientIndex, "client-index", "0|1", 0, modemGroup, "the modem's MQTT client index to use")
		fs.String(&mf.apn, "apn", "NAME", "", modemGroup, "set the APN of PDP context 1 (AT+CGDCONT) before connecting")
	}
	fs.Bool(&mf.trace, "trace,d,debug", modemGroup, "log the AT traffic to stderr (passwords redacted); -d is mosquitto's debug flag, which here shows the AT traffic the MQTT packets become")
	fs.Bool(&mf.sim, "sim", modemGroup, "no hardware: run against the built-in modem emulator (modemsim) and, unless a broker is given, an embedded MQTT broker")
}

// parseModel maps the --model flag to a model family.
func parseModel(s string) (atmodem.Model, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return atmodem.AutoDetect, nil
	case "a7600", "a76xx", "a7670", "a7672", "a7608":
		return atmodem.A7600, nil
	case "sim7600", "sim7500", "sim7800", "sim76xx":
		return atmodem.SIM7600, nil
	}
	return atmodem.AutoDetect, badInput("--model %q: want auto, a7600 or sim7600", s)
}

// check validates the modem flags before anything is opened.
func (mf *modemFlags) check() error {
	if _, err := parseModel(mf.model); err != nil {
		return err
	}
	if mf.baud <= 0 {
		return badInput("--baud %d: must be positive", mf.baud)
	}
	if mf.clientIndex < 0 || mf.clientIndex > 1 {
		return badInput("--client-index %d: the modems have client indexes 0 and 1", mf.clientIndex)
	}
	if mf.sim && mf.port != "" {
		return badInput("--sim and --port %s exclude each other: --sim runs the emulator in place of a modem", mf.port)
	}
	if isPortNumber(mf.port) {
		return badInput("--port %s: --port is the modem's AT port (a serial device or tcp://HOST:PORT); the broker's port is -p %s", mf.port, mf.port)
	}
	if strings.ContainsAny(mf.apn, "\"\r\n") {
		return badInput("--apn %q: the APN travels in double quotes and must not contain a quote or line break", mf.apn)
	}
	return nil
}

// modemLink is an open modem and what was started to provide it.
type modemLink struct {
	Modem   *atmodem.Modem
	Sim     *modemsim.Sim            // with --sim
	Broker  *modemsim.EmbeddedBroker // with --sim when no broker was given
	RW      io.ReadWriteCloser       // the AT port's byte stream
	Where   string                   // what was opened, for messages
	closers []func() error
}

// Close closes the modem, then the emulator and the broker.
func (l *modemLink) Close() error {
	var first error
	for i := len(l.closers) - 1; i >= 0; i-- {
		if err := l.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	l.closers = nil
	return first
}

// traceLogger is the logger --trace gives the engine: AT traffic at debug
// level on stderr.
func traceLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// open opens the modem the flags describe and starts the AT engine on it.
// With --sim and startBroker, an embedded broker is started too and the
// emulator sends every CONNECT there.
func (mf *modemFlags) open(ctx context.Context, stderr io.Writer, startBroker bool) (*modemLink, error) {
	model, err := parseModel(mf.model)
	if err != nil {
		return nil, err
	}
	var opts []atmodem.Option
	if model != atmodem.AutoDetect {
		opts = append(opts, atmodem.WithModel(model))
	}
	if mf.trace {
		opts = append(opts, atmodem.WithLogger(traceLogger(stderr)))
	} else if mf.warnings != nil {
		opts = append(opts, atmodem.WithLogger(mf.warnings))
	}
	l, err := mf.openTransport(ctx, stderr, startBroker)
	if err != nil {
		return nil, err
	}
	l.Modem = atmodem.New(l.RW, opts...)
	l.closers = append(l.closers, l.Modem.Close)
	return l, nil
}

// openTransport opens the byte stream to the modem's AT port: the
// emulator (--sim), a TCP bridge (--port tcp://...) or a serial port. The
// caller owns it through the returned link (Close).
func (mf *modemFlags) openTransport(ctx context.Context, stderr io.Writer, startBroker bool) (*modemLink, error) {
	model, err := parseModel(mf.model)
	if err != nil {
		return nil, err
	}
	l := &modemLink{}
	switch {
	case mf.sim:
		if err := mf.openSim(l, model, startBroker); err != nil {
			l.Close()
			return nil, err
		}
		l.RW = l.Sim.Conn()
	default:
		port := mf.port
		if port == "auto" || port == "" {
			if port, err = autoPort(); err != nil {
				return nil, err
			}
			fmt.Fprintf(stderr, "cellmqtt: using %s (--port auto)\n", port)
		}
		if !strings.HasPrefix(port, "tcp://") {
			if w := portWarning(port); w != "" {
				fmt.Fprint(stderr, w)
			}
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rw, err := atmodem.OpenPort(dctx, port, mf.baud)
		cancel()
		if err != nil {
			return nil, err
		}
		l.Where = port
		l.RW = rw
		l.closers = append(l.closers, rw.Close)
	}
	return l, nil
}

// isPortNumber reports whether s is a bare number, a broker port typed as
// mosquitto's --port where cellmqtt's --port wants the AT port.
func isPortNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// simConfig is the emulator configuration of --sim.
func (mf *modemFlags) simConfig(model atmodem.Model) modemsim.Config {
	return modemsim.Config{Model: model, Baud: mf.simBaud}
}

// openSim starts the emulator (and the embedded broker) for --sim.
func (mf *modemFlags) openSim(l *modemLink, model atmodem.Model, startBroker bool) error {
	if model == atmodem.AutoDetect {
		model = atmodem.A7600
	}
	cfg := mf.simConfig(model)
	if startBroker {
		b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
		if err != nil {
			return err
		}
		l.Broker = b
		l.closers = append(l.closers, b.Close)
		cfg.Broker = b.URL()
	}
	sim, err := modemsim.New(cfg)
	if err != nil {
		return err
	}
	l.Sim = sim
	l.closers = append(l.closers, sim.Close)
	l.Where = "the modem emulator (" + model.String() + ")"
	return nil
}
