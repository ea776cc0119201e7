package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/bridge"
	"github.com/cellmqtt/cellmqtt/internal/listener"
	"github.com/cellmqtt/cellmqtt/queue"
)

func init() {
	register(command{
		name:    "bridge",
		summary: "a local MQTT broker bridged over the modem to a remote broker (mosquitto's bridge syntax)",
		run:     runBridge,
	})
}

// bridgeFlags are the flags of "cellmqtt bridge".
type bridgeFlags struct {
	modem      modemFlags
	config     string
	name       string
	address    string
	topics     stringList
	clientID   string
	listen     listenFlags
	local      string
	queueDir   string
	maxMsgs    int
	maxBytes   int
	policy     string
	statusTop  string
	statusIntv time.Duration
}

func newBridgeFlags() (*flagSet, *bridgeFlags) {
	fs := newFlagSet("bridge", "cellmqtt bridge (--port PATH | --sim) (-c FILE | --address HOST[:PORT] --topic RULE ...) [flags]", `
Runs a local MQTT broker (MQTT 3.1.1 and 5) that any number of local
programs use, bridged over ONE of the modem's MQTT client indexes to a
remote broker: what mosquitto's bridge does over TCP, over the modem. The
bridge is configured with mosquitto's keywords, in a file (-c) that holds
one bridge section of a mosquitto.conf and, if wanted, the local broker's
listener, or with the flags below:

  listener 1883 127.0.0.1
  connection cloud
  address broker.example.com:8883
  bridge_cafile /etc/cellmqtt/ca.pem
  topic sensors/# out 1
  topic cmd/# in 1
  topic # both 1 site/ sites/gw1/

"topic <pattern> [out|in|both] [qos] [local-prefix remote-prefix]" works
as in mosquitto.conf(5). Keywords the modem cannot honour (bridge_insecure,
bridge_capath, TLS-PSK, start_type lazy, MQTT 5 to the remote ...) are
refused with a message naming them.

Every local client acts with the device's identity on the remote broker:
its client certificate (bridge_certfile), its credentials
(remote_username) and its network. The local broker listens on 127.0.0.1
by default; an address other machines can reach needs --password-file
(hashed by mosquitto_passwd) or --local-user/--local-password, or
--listen-cert/--listen-key (TLS), or --insecure-listen. In the file,
mosquitto's listener keywords do the same: "listener PORT [ADDRESS]"
(without an address, every interface), password_file, certfile, keyfile,
and allow_anonymous true (clients without a user name are let in, on any
address); a flag replaces the file's setting. A refused client gets
CONNACK "not authorized" without a user name, "bad user name or password"
otherwise; a connection that sends no CONNECT within 5 s is closed. Every
client let in may use every topic. (--local-user is what local clients
must give; local_username in the file is what the bridge gives an
existing broker with --local.)

What a local client can expect:
  - Out (local to remote): a QoS 1 or 2 message is acknowledged (PUBACK,
    PUBREC) once it is in the out queue, on disk (--queue-dir), not once
    the remote broker has it; a crash of the bridge (kill -9) loses nothing
    acknowledged. While the cellular link is down, local clients stay
    connected, and messages wait and go out in order after the reconnect;
    QoS 0 messages published meanwhile are dropped (as mosquitto). Retain
    flags go out as published.
  - A bounded out queue (--queue-max-messages, --queue-max-bytes) logs once
    that it is full, then with --queue-policy block (the default) holds the
    publisher's PUBACK until there is room; reject refuses the message;
    drop-oldest acknowledges it and drops the oldest, logging each.
  - A message refused (queue full with reject, a topic over 1024 bytes or a
    payload over 10240, which the modem cannot carry) is not acknowledged:
    an MQTT 3.1.1 publisher's connection is closed, so it keeps the message;
    an MQTT 5 publisher at QoS 1 gets a PUBACK with a reason code (0x97 for
    a full queue). At QoS 0 it reaches local subscribers only, logged.
  - In (remote to local): the modem reports neither retain flag nor QoS.
    The bridge publishes each message locally not retained, at the QoS of
    the in rule that matches it (whatever it was published with), capped by
    each subscription's: a retained message of the remote broker reaches
    the local subscribers present when it arrives, not later ones. The
    embedded broker keeps persistent local sessions in memory, not across
    a restart of the bridge.
  - The state of the link is published retained on the local broker
    ($SYS/broker/connection/<remote_clientid>/state, or notification_topic):
    1 up, 0 down.

By default the local broker runs in this process (--listen); with --local
the bridge joins an existing local broker (a mosquitto) as its client,
with a persistent session, and acknowledges each message only after it is
on disk. The listen address is printed on stdout once the bridge accepts
connections; Ctrl-C (SIGINT) or SIGTERM stops it. With --sim the emulated
modem connects to the configured address itself.

Exit status: 0 stopped by a signal, 1 the modem, the listener or the link
failed, 2 bad flags or a bad configuration.`)
	f := &bridgeFlags{}
	const br = "Bridge"
	fs.String(&f.config, "c,config", "FILE", "", br, "the bridge section of a mosquitto.conf (connection, address, topic ...), with the local listener's keywords if wanted (listener, password_file, certfile, keyfile, allow_anonymous)")
	fs.String(&f.name, "connection", "NAME", "cellmqtt", br, "the connection name without -c (the default remote client ID is NAME.HOSTNAME)")
	fs.String(&f.address, "address", "HOST[:PORT]", "", br, "the remote broker without -c (or to replace the file's address)")
	fs.Var(&f.topics, "topic", "RULE", br, `a topic rule as in mosquitto.conf, e.g. "sensors/# out 1" (repeatable; added to the file's)`)
	fs.String(&f.clientID, "remote-clientid", "ID", "", br, "the client ID on the remote broker (remote_clientid)")
	fs.String(&f.local, "local", "tcp://HOST:PORT", "", br, "join this existing local broker (a mosquitto) as a client instead of running one")
	f.listen.register(fs, bridge.DefaultListen)
	const q = "Queue"
	fs.String(&f.queueDir, "queue-dir", "DIR", "", q, "the durable queues' directory (default $STATE_DIRECTORY/NAME under systemd, else ~/.local/state/cellmqtt/bridge-NAME)")
	fs.Int(&f.maxMsgs, "queue-max-messages", "N", 0, q, "bound the out queue to N messages (0: no bound)")
	fs.Int(&f.maxBytes, "queue-max-bytes", "N", 0, q, "bound the out queue to N bytes of topics and payloads (0: no bound)")
	fs.String(&f.policy, "queue-policy", "block|reject|drop-oldest", "block", q, "when the out queue is full: make publishers wait, refuse their messages, or drop the oldest")
	const st = "Status"
	fs.String(&f.statusTop, "status-topic", "TOPIC", "", st, "publish a retained JSON status (link, signal, registration, queue depth) on the local broker")
	fs.Seconds(&f.statusIntv, "status-interval", "DURATION", 30*time.Second, st, "how often the status is published")
	f.modem.register(fs, true)
	fs.example(
		"cellmqtt bridge --port /dev/ttyUSB2 -c /etc/cellmqtt/bridge.conf",
		"cellmqtt bridge --sim --address 127.0.0.1:1884 --topic 'sensors/# out 1' --topic 'cmd/# in 1' --listen 127.0.0.1:1883",
		"cellmqtt bridge --port auto -c bridge.conf --local tcp://127.0.0.1:1883 --status-topic gw/status",
		"cellmqtt bridge --port auto -c bridge.conf --listen 0.0.0.0:8883 --listen-cert gw.pem --listen-key gw.key --password-file passwd",
	)
	return fs, f
}

// configFile reads -c and applies the flags to it.
func (f *bridgeFlags) configFile() (*bridge.Config, error) {
	var cfg *bridge.Config
	if f.config != "" {
		data, err := os.ReadFile(f.config)
		if err != nil {
			return nil, badInput("-c: %w", err)
		}
		cfg, err = bridge.ParseConfig(strings.NewReader(string(data)+"\n"+f.flagLines()), f.config)
		if err != nil {
			return nil, badInput("%w", err)
		}
		return cfg, nil
	}
	cfg, err := bridge.ParseConfig(strings.NewReader("connection "+f.name+"\n"+f.flagLines()), "flags")
	if err != nil {
		return nil, badInput("%w", err)
	}
	return cfg, nil
}

// flagLines are the bridge flags as configuration lines.
func (f *bridgeFlags) flagLines() string {
	var b strings.Builder
	if f.address != "" {
		b.WriteString("address " + f.address + "\n")
	}
	if f.clientID != "" {
		b.WriteString("remote_clientid " + f.clientID + "\n")
	}
	for _, t := range f.topics {
		b.WriteString("topic " + t + "\n")
	}
	return b.String()
}

// check validates the flags that do not depend on the configuration.
func (f *bridgeFlags) check(fs *flagSet) error {
	if err := f.modem.check(); err != nil {
		return err
	}
	if f.config != "" && fs.isSet("connection") {
		return badInput("--connection: the name comes from the file's connection line")
	}
	if f.local != "" && (fs.isSet("listen") || f.listen.given(fs.isSet)) {
		return badInput("--listen and --local: the bridge either runs the local broker (--listen, with its --password-file, --local-user, --listen-cert ...) or joins one (--local), whose own settings say who may use it")
	}
	if err := f.listen.checkPairs(); err != nil {
		return err
	}
	if _, err := parsePolicy(f.policy); err != nil {
		return err
	}
	if f.maxMsgs < 0 || f.maxBytes < 0 {
		return badInput("--queue-max-messages and --queue-max-bytes cannot be negative")
	}
	if f.statusIntv < time.Second {
		return badInput("--status-interval %v: at least 1s", f.statusIntv)
	}
	return nil
}

// listenerConfig applies the listener flags given to the configuration
// file's listener (a flag replaces the file's setting) and checks the
// result: a problem is a usage error naming the flags and the keywords.
// The password file is read now, so that a bad one is found before the
// modem is opened.
func (f *bridgeFlags) listenerConfig(cfg *bridge.Config, set func(name string) bool) error {
	l := &cfg.Listener
	if f.local != "" {
		if *l != (bridge.ListenerConfig{}) {
			return badInput("%s: the listener keywords (listener, password_file, certfile, keyfile, allow_anonymous) are those of the embedded local broker; with --local, the existing broker's own configuration says who may use it", f.config)
		}
		return nil
	}
	c := f.listen.cfg
	if set("listen") {
		l.Addr = c.Addr
	}
	if set("password-file") {
		l.PasswordFile = c.PasswordFile
	}
	if set("local-user") {
		l.Username, l.Password = c.Username, c.Password
	}
	if set("listen-cert") {
		l.CertFile, l.KeyFile = c.CertFile, c.KeyFile
	}
	if set("insecure-listen") {
		l.InsecureListen = c.InsecureListen
	}
	addr := l.Addr
	if addr == "" {
		addr = bridge.DefaultListen
	}
	if err := insecureUsage(l.Check(), addr, " (in -c FILE: password_file, certfile and keyfile, or allow_anonymous true)"); err != nil {
		var usage usageErr
		if !errors.As(err, &usage) {
			err = badInput("%w", err)
		}
		return err
	}
	if l.PasswordFile != "" {
		if _, err := listener.ReadPasswordFile(l.PasswordFile); err != nil {
			return badInput("%w", err)
		}
	}
	return nil
}

// parsePolicy maps --queue-policy to the queue's policy.
func parsePolicy(s string) (queue.Policy, error) {
	switch s {
	case "block":
		return queue.Block, nil
	case "reject":
		return queue.Reject, nil
	case "drop-oldest":
		return queue.DropOldest, nil
	}
	return queue.Block, badInput("--queue-policy %q: want block, reject or drop-oldest", s)
}

// queueDirFor is the queue directory: --queue-dir, or a default per
// connection name.
func (f *bridgeFlags) queueDirFor(name string) (string, error) {
	if f.queueDir != "" {
		return f.queueDir, nil
	}
	if d := os.Getenv("STATE_DIRECTORY"); d != "" { // systemd's StateDirectory=
		return filepath.Join(strings.Split(d, ":")[0], name), nil
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", badInput("no --queue-dir and no home directory for the default: %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "cellmqtt", "bridge-"+name), nil
}

func runBridge(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, f := newBridgeFlags()
	rest, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseExit(err)
	}
	if len(rest) > 0 {
		return fs.usageError(stderr, "unexpected argument %q", rest[0])
	}
	if err := f.check(fs); err != nil {
		return fail(stderr, "bridge", err)
	}
	cfg, err := f.configFile()
	if err != nil {
		return fail(stderr, "bridge", err)
	}
	if err := f.listenerConfig(cfg, fs.isSet); err != nil {
		return fail(stderr, "bridge", err)
	}
	if err := serveBridge(ctx, f, cfg, stdout, stderr); err != nil {
		return fail(stderr, "bridge", err)
	}
	return exitOK
}

// serveBridge opens the modem, starts the bridge and runs until ctx ends
// or the modem's port closes.
func serveBridge(ctx context.Context, f *bridgeFlags, cfg *bridge.Config, stdout, stderr io.Writer) error {
	level := slog.LevelInfo
	if f.modem.trace {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	dir, err := f.queueDirFor(cfg.Name)
	if err != nil {
		return err
	}
	policy, _ := parsePolicy(f.policy)
	opts := bridge.Options{
		ClientIndex:      f.modem.clientIndex,
		Local:            f.local,
		QueueDir:         dir,
		QueueMaxMessages: f.maxMsgs,
		QueueMaxBytes:    int64(f.maxBytes),
		QueuePolicy:      policy,
		StatusTopic:      f.statusTop,
		StatusInterval:   f.statusIntv,
		Logger:           logger,
		APN:              f.modem.apn,
	}
	l, err := f.modem.open(ctx, stderr, false)
	if err != nil {
		return err
	}
	defer l.Close()
	opts.Modem = l.Modem
	b, err := bridge.Start(cfg, opts)
	if err != nil {
		if errors.Is(err, bridge.ErrConfig) {
			return badInput("%w", err)
		}
		return err
	}
	secured := ""
	if f.local == "" {
		secured = describeListener(cfg.Listener.TLS(), cfg.Listener.Authenticates())
	}
	fmt.Fprintf(stdout, "listening on %s\n", b.Addr())
	fmt.Fprintf(stderr, "cellmqtt bridge: %s: local broker %s%s, carried by %s (client index %d) to %s; queue in %s\n",
		cfg.Name, b.Addr(), secured, l.Where, f.modem.clientIndex, strings.Join(cfg.Addresses, " "), dir)
	select {
	case <-ctx.Done():
		return b.Close()
	case <-b.Done():
		return b.Err()
	}
}
