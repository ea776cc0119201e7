package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

func init() {
	register(command{
		name:    "sim",
		summary: "run the modem emulator on a pty or a TCP port, for terminal programs and drivers",
		run:     runSim,
	})
}

// simFlags are the flags of "cellmqtt sim".
type simFlags struct {
	model   string
	broker  string
	pty     bool
	link    string
	listen  string
	baud    int
	latency time.Duration
	echo    string
	trace   bool
	rtt     time.Duration

	pipeline string

	resultFirst, refuseSubTopic, nonetColon, nonetLists, bootNUL, promptSpace, echoStuck, echoData, refuseVersion bool
	rxChunk                                                                                                       int
	boot                                                                                                          string
	booting                                                                                                       time.Duration
	bootingLines                                                                                                  int
	mqttDefault                                                                                                   string
}

func runSim(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("sim", "cellmqtt sim [--model a7600|sim7600] [--broker URL|embedded] [--pty | --listen ADDR] [flags]", `
Runs the SIMCom modem emulator (package modemsim): an A7600 or SIM7600 AT
port with the firmware's MQTT client, backed by a real MQTT connection to a
real broker. It prints where to connect, then serves until interrupted.
Lines typed on its standard input inject faults (type help).

With --pty the AT port is a pseudo-terminal: open the printed path with a
terminal program (screen, minicom, picocom) or any driver, as if it were the
modem's USB serial port. With --listen (the default is a free port on
127.0.0.1) each TCP connection is the AT port, one at a time; use it with
"cellmqtt pub --port tcp://ADDR" or "nc".

--broker embedded starts an MQTT broker in this process on a free loopback
port; with a URL every AT+CMQTTCONNECT goes to that broker whatever address
the command names, like a network redirect.`)
	var f simFlags
	fs.String(&f.model, "model", "a7600|sim7600", "a7600", "Emulator", "modem family to emulate")
	fs.String(&f.broker, "broker", "URL|embedded", "embedded", "Emulator", "the broker behind the modem: tcp://HOST:PORT (or ssl://...), or embedded")
	fs.Bool(&f.pty, "pty", "Transport", "serve the AT port on a pseudo-terminal and print its path")
	fs.String(&f.link, "link", "PATH", "", "Transport", "with --pty: make PATH a symbolic link to the pty (as socat's link=), a name that scripts and udev-style configs can use; removed on exit")
	fs.String(&f.listen, "listen", "ADDR", "", "Transport", "serve the AT port on TCP at ADDR (default 127.0.0.1:0 unless --pty)")
	fs.Int(&f.baud, "baud", "N", 0, "Link", "emulated line speed in bit/s each way, 10 bits a byte; 0 is unlimited")
	fs.Seconds(&f.latency, "latency", "DURATION", 0, "Link", "delay before every answer, e.g. 50ms")
	fs.String(&f.echo, "echo", "on|off", "on", "Link", "command echo at power-up (ATE1/ATE0)")
	fs.Seconds(&f.rtt, "rtt", "DURATION", 0, "Link", "broker round trip added between the emulator and its broker, half each way, e.g. 300ms: every PUBACK pays it")
	fs.Bool(&f.trace, "trace", "Link", "print every byte each way to stderr, timestamped")
	fs.Bool(&f.resultFirst, "result-first", "Firmware variants", "SIM7600: write the START/STOP/DISC result before OK")
	fs.Bool(&f.refuseSubTopic, "refuse-subtopic", "Firmware variants", "answer ERROR to AT+CMQTTSUBTOPIC, as some A7670 firmware")
	fs.Bool(&f.nonetColon, "nonet-colon", "Firmware variants", `spell the no-network URC "+CMQTTNONET:"`)
	fs.Bool(&f.nonetLists, "nonet-lists-clients", "Firmware variants", "after +CMQTTNONET, AT+CMQTTACCQ? and AT+CMQTTDISC? still list the old clients until AT+CMQTTSTART")
	fs.Bool(&f.bootNUL, "boot-nul", "Firmware variants", "write a NUL byte before the boot messages")
	fs.Bool(&f.promptSpace, "prompt-space", "Firmware variants", `write the data prompt as "> "`)
	fs.Bool(&f.echoStuck, "echo-stuck", "Firmware variants", "keep echoing after ATE0")
	fs.Bool(&f.echoData, "echo-data", "Firmware variants", "echo the data written after a prompt too (while echo is on)")
	fs.String(&f.boot, "boot", "model|a7672|a7670", "model", "Firmware variants", "boot messages: the model's, or those of an A7672 or A7670 powering up")
	fs.Seconds(&f.booting, "booting", "DURATION", 0, "Firmware variants", "start still booting: silent (no echo, no answer) for DURATION, then the boot messages")
	fs.Int(&f.bootingLines, "booting-lines", "N", 0, "Firmware variants", "start still booting: silent until the host wrote N command lines, then the boot messages")
	fs.String(&f.mqttDefault, "mqtt-default", "3.1|3.1.1", "3.1", "Firmware variants", "MQTT version of a CONNECT when the driver selects none (A76xx firmware: 3.1)")
	fs.Bool(&f.refuseVersion, "refuse-version", "Firmware variants", `answer ERROR to AT+CMQTTCFG="version" and to a 4th AT+CMQTTACCQ field`)
	fs.Int(&f.rxChunk, "rx-chunk", "N", 1500, "Firmware variants", "bytes per +CMQTTRXTOPIC/+CMQTTRXPAYLOAD chunk")
	fs.String(&f.pipeline, "pipeline", "accept|busy14|error", "busy14", "Firmware variants", "a PUB, SUB or UNSUB written while a result of its index is pending: taken (results in order), refused with 14 then ERROR, or with a bare ERROR")
	fs.example(
		"cellmqtt sim --broker embedded --pty",
		"screen /dev/pts/7 115200    # then type AT+CMQTTSTART",
		"cellmqtt sim --pty --link /tmp/modem &   # a path that stays the same",
		"cellmqtt at --port /tmp/modem AT+CSQ",
		"cellmqtt sim --model sim7600 --listen 127.0.0.1:7600 --broker tcp://127.0.0.1:1883",
		"cellmqtt sim --baud 115200 --rtt 300ms --pipeline accept   # a cellular link, firmware that pipelines",
		"cellmqtt pub --port tcp://127.0.0.1:7600 -h 127.0.0.1 -t hello -m world",
	)
	rest, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseExit(err)
	}
	if len(rest) > 0 {
		return fs.usageError(stderr, "unexpected argument %q", rest[0])
	}
	if f.link != "" && !f.pty {
		return fs.usageError(stderr, "--link needs --pty")
	}
	cfg, err := f.config(stderr)
	if err != nil {
		return fail(stderr, "sim", err)
	}
	if f.broker == "embedded" {
		b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
		if err != nil {
			return fail(stderr, "sim", err)
		}
		defer b.Close()
		cfg.Broker = b.URL()
		fmt.Fprintf(stdout, "embedded MQTT broker: %s\n", b.URL())
	}
	sim, err := modemsim.New(cfg)
	if err != nil {
		return fail(stderr, "sim", err)
	}
	defer sim.Close()
	if f.pty {
		path, err := sim.OpenPTY()
		if err != nil {
			return fail(stderr, "sim", err)
		}
		if f.link != "" {
			remove, err := linkPTY(f.link, path)
			if err != nil {
				return fail(stderr, "sim", err)
			}
			defer remove()
			path = f.link + " -> " + path
		}
		fmt.Fprintf(stdout, "%s AT port on pty: %s\n", cfg.Model, path)
	}
	if f.listen != "" || !f.pty {
		addr := f.listen
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		a, err := sim.ListenTCP(addr)
		if err != nil {
			return fail(stderr, "sim", err)
		}
		fmt.Fprintf(stdout, "%s AT port on TCP: tcp://%s\n", cfg.Model, a)
	}
	fmt.Fprintln(stdout, "serving; interrupt (Ctrl-C) to stop; type help for fault injection")
	if stdin != nil {
		go simConsole(sim, stdin, stdout)
	}
	<-ctx.Done()
	return exitOK
}

// linkPTY makes link a symbolic link to the pty at target, replacing an
// earlier symbolic link (a previous run's) but never another file. remove
// deletes it again if it still points at target.
func linkPTY(link, target string) (remove func(), err error) {
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return nil, badInput("--link %s: exists and is not a symbolic link; it is left alone", link)
		}
		if err := os.Remove(link); err != nil {
			return nil, fmt.Errorf("--link: %w", err)
		}
	}
	if err := os.Symlink(target, link); err != nil {
		return nil, fmt.Errorf("--link: %w", err)
	}
	return func() {
		if dst, err := os.Readlink(link); err == nil && dst == target {
			os.Remove(link)
		}
	}, nil
}

// simConsole reads fault-injection commands from r until it ends; the
// process exits with the emulator, so an unended stdin does not matter.
func simConsole(sim *modemsim.Sim, r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if msg := simControl(sim, sc.Text()); msg != "" {
			fmt.Fprintln(w, msg)
		}
	}
}

// simControl runs one console command (modemsim's fault commands, or help)
// and returns what to print.
func simControl(sim *modemsim.Sim, line string) string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return ""
	}
	if f[0] == "help" || f[0] == "?" {
		return modemsim.InjectHelp
	}
	err := sim.Inject(line)
	switch {
	case errors.Is(err, modemsim.ErrUnknownFault):
		return fmt.Sprintf("unknown command %q; type help", f[0])
	case err != nil:
		return "error: " + err.Error()
	}
	return "ok: " + f[0]
}

// config validates the flags into an emulator configuration.
func (f *simFlags) config(stderr io.Writer) (cfg modemsim.Config, err error) {
	switch strings.ToLower(f.model) {
	case "a7600", "a76xx", "a7670", "a7672", "a7608":
		cfg.Model = simcom.A7600
	case "sim7600", "sim7500", "sim7800", "sim76xx":
		cfg.Model = simcom.SIM7600
	default:
		return cfg, badInput("--model %q: want a7600 or sim7600", f.model)
	}
	if f.broker == "" {
		return cfg, badInput("--broker: want a URL such as tcp://127.0.0.1:1883, or embedded")
	}
	if f.broker != "embedded" {
		if !strings.Contains(f.broker, "://") {
			return cfg, badInput("--broker %q: want a URL such as tcp://127.0.0.1:1883, or embedded", f.broker)
		}
		cfg.Broker = f.broker
	}
	if f.baud < 0 {
		return cfg, badInput("--baud %d: must be 0 (unlimited) or positive", f.baud)
	}
	cfg.Baud = f.baud
	if f.latency < 0 {
		return cfg, badInput("--latency %v: must not be negative", f.latency)
	}
	cfg.Latency = f.latency
	if f.rtt < 0 {
		return cfg, badInput("--rtt %v: must not be negative", f.rtt)
	}
	cfg.RTT = f.rtt
	if cfg.Pipeline, err = modemsim.ParsePipelineMode(strings.ToLower(f.pipeline)); err != nil {
		return cfg, badInput("--pipeline %q: want accept, busy14 or error", f.pipeline)
	}
	switch strings.ToLower(f.echo) {
	case "on", "1", "true":
		cfg.Echo = modemsim.EchoOn
	case "off", "0", "false":
		cfg.Echo = modemsim.EchoOff
	default:
		return cfg, badInput("--echo %q: want on or off", f.echo)
	}
	if f.rxChunk <= 0 {
		return cfg, badInput("--rx-chunk %d: must be positive", f.rxChunk)
	}
	cfg.RXChunk = f.rxChunk
	switch strings.ToLower(f.boot) {
	case "model", "":
	case "a7672":
		cfg.Boot = modemsim.BootA7672
	case "a7670":
		cfg.Boot = modemsim.BootA7670
	default:
		return cfg, badInput("--boot %q: want model, a7672 or a7670", f.boot)
	}
	switch f.mqttDefault {
	case "3.1", "3":
		cfg.DefaultProtocolLevel = 3
	case "3.1.1", "4":
		cfg.DefaultProtocolLevel = 4
	default:
		return cfg, badInput("--mqtt-default %q: want 3.1 or 3.1.1", f.mqttDefault)
	}
	cfg.RefuseVersionSelection = f.refuseVersion
	if f.booting < 0 || f.bootingLines < 0 {
		return cfg, badInput("--booting and --booting-lines must not be negative")
	}
	if f.booting > 0 || f.bootingLines > 0 {
		cfg.Booting = &modemsim.Booting{For: f.booting, Lines: f.bootingLines}
	}
	cfg.ResultBeforeOK = f.resultFirst
	cfg.RefuseSubTopic = f.refuseSubTopic
	cfg.NoNetColon = f.nonetColon
	cfg.NoNetListsClients = f.nonetLists
	cfg.BootNUL = f.bootNUL
	cfg.PromptSpace = f.promptSpace
	cfg.EchoStuck = f.echoStuck
	cfg.EchoData = f.echoData
	if f.trace {
		cfg.Trace = stderr
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg, nil
}
