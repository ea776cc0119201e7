package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/queue"
)

// Options say where the bridge runs: the modem, the local side, the queue.
type Options struct {
	// Modem is the open modem; the bridge uses one of its client indexes
	// and never closes it.
	Modem *atmodem.Modem
	// ClientIndex is the modem's MQTT client index (0 or 1); the other
	// index stays free for another program.
	ClientIndex int
	// APN, when set, is configured on PDP context 1 before connecting.
	APN string

	// Listener, when set, is where the embedded local broker accepts
	// clients (plain TCP, or a TLS listener from tls.NewListener) instead
	// of the listener of Config.Listener; the bridge closes it on Close,
	// or when Start fails.
	// Every client that reaches it acts with the device's identity: one
	// that other machines can reach wants TLS or an Authenticator.
	Listener net.Listener
	// Local, when set (tcp://host:port), makes the bridge join that
	// existing broker as its client instead of embedding one.
	Local string
	// Authenticator, when set, decides which local clients the embedded
	// broker lets in, instead of the password file and user of
	// Config.Listener.
	Authenticator Authenticator

	// QueueDir is the directory of the durable queues (out: local to
	// remote; in: remote to an existing local broker); empty keeps them in
	// memory, which a crash loses.
	QueueDir string
	// QueueMaxMessages and QueueMaxBytes bound the out queue (0: no limit);
	// QueuePolicy says what happens when it is full.
	QueueMaxMessages int
	QueueMaxBytes    int64
	QueuePolicy      queue.Policy

	// StatusTopic, when set, gets a retained JSON status every
	// StatusInterval (default 30 s): link state, signal quality,
	// registration, queue depth and message counts.
	StatusTopic    string
	StatusInterval time.Duration

	// Logger gets the bridge's events; nil discards them.
	Logger *slog.Logger

	// clientOptions, when set (tests), adjusts the uplink client's options.
	clientOptions func(*cellmqtt.ClientOptions)
	// connectWait, when set (tests), replaces connectWait.
	connectWait time.Duration
}

// Bridge is a running bridge. Create it with Start; stop it with Close.
type Bridge struct {
	cfg  *Config
	opts Options
	log  *slog.Logger

	out    *queue.File // the out queue when durable
	outQ   queue.Queue // the out queue
	client cellmqtt.Client
	local  localBroker
	// localUp is closed once local is set (handlers of the client wait for
	// it), or when the bridge stops first.
	localUp     chan struct{}
	localUpOnce sync.Once
	echo        *echoFilter
	sent        *sentWatcher
	state       *notifier
	report      *statusReporter
	full        fullLog
	in          inCounter

	subMu        sync.Mutex // guards isSubscribed and subscribing
	isSubscribed bool
	subscribing  bool
	// settled counts the connections whose subscribe and unsubscribe
	// requests have completed (tests wait for it).
	settled atomic.Uint64

	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	done   chan struct{} // closed when the bridge stopped
	err    error         // why it stopped by itself; set before done closes
}

// Start starts a bridge for cfg: it opens the queues, starts the local
// broker (or joins the existing one), and connects to the remote broker
// over the modem in the background, retrying until it succeeds; local
// clients can publish at once. It returns once the local side accepts
// clients.
func Start(cfg *Config, opts Options) (_ *Bridge, err error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if opts.Modem == nil {
		return nil, errors.New("bridge: no modem")
	}
	if opts.ClientIndex < 0 || opts.ClientIndex > 1 {
		return nil, fmt.Errorf("bridge: client index %d out of range 0-1: %w", opts.ClientIndex, atmodem.ErrInvalidParameter)
	}
	if err := checkListener(cfg.Listener, opts); err != nil {
		return nil, err
	}
	if opts.Local != "" && opts.QueuePolicy == queue.Reject {
		return nil, fmt.Errorf("bridge: queue policy reject with an existing local broker: the local broker has acknowledged the message before the bridge sees it, so the bridge cannot refuse it; use block or drop-oldest: %w", ErrConfig)
	}
	if opts.StatusInterval <= 0 {
		opts.StatusInterval = 30 * time.Second
	}
	if opts.StatusTopic != "" {
		if err := checkTopicName(opts.StatusTopic); err != nil {
			return nil, fmt.Errorf("bridge: status topic %q: %w: %w", opts.StatusTopic, err, ErrConfig)
		}
	}
	if opts.Local == "" {
		// The embedded broker's listener and the check of its clients,
		// before anything reaches the modem.
		if err := resolveListener(cfg.Listener, &opts); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				_ = opts.Listener.Close()
			}
		}()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("bridge", cfg.Name)
	b := &Bridge{cfg: cfg, opts: opts, log: log, done: make(chan struct{}), localUp: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.echo = newEchoFilter(echoTTL)
	if err := b.openOutQueue(); err != nil {
		return nil, err
	}
	b.sent = newSentWatcher(b)
	b.state = newNotifier(b)
	// The client exists (and accepts messages, queueing them) before the
	// local side starts; its handlers wait for the local side.
	if err := b.startUplink(); err != nil {
		_ = b.Close()
		return nil, err
	}
	var lb localBroker
	if opts.Local != "" {
		lb, err = joinLocal(b)
	} else {
		lb, err = startEmbedded(b)
	}
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	b.localUpOnce.Do(func() { b.local = lb; close(b.localUp) })
	if b.local == nil {
		// The bridge stopped meanwhile (the modem's port closed).
		_ = lb.close()
		<-b.done
		return nil, b.err
	}
	b.state.start()
	if opts.StatusTopic != "" {
		b.report = startStatus(b)
	}
	b.wg.Add(1)
	go b.watchModem()
	return b, nil
}

// openOutQueue opens the out queue: a durable file queue under
// QueueDir/out, or a memory queue.
func (b *Bridge) openOutQueue() error {
	lim := queue.Limits{
		MaxMessages: b.opts.QueueMaxMessages,
		MaxBytes:    b.opts.QueueMaxBytes,
		Policy:      b.opts.QueuePolicy,
		OnDrop: func(e queue.Entry) {
			b.log.Warn("out queue full: dropped the oldest message (policy drop-oldest)", "topic", e.Message.Topic, "bytes", len(e.Message.Payload))
		},
	}
	if b.opts.QueueDir == "" {
		b.outQ = queue.NewMemory(lim)
		return nil
	}
	dir := b.opts.QueueDir + string(os.PathSeparator) + "out"
	f, err := queue.OpenFile(dir, lim, queue.FileOptions{Logger: b.log})
	if err != nil {
		return fmt.Errorf("bridge: out queue: %w", err)
	}
	if n := f.Len(); n > 0 {
		b.log.Info("out queue holds messages from before; they are sent first", "messages", n, "dir", dir)
	}
	b.out, b.outQ = f, f
	return nil
}

// waitLocal waits until the local side is up; false when the bridge
// stopped before.
func (b *Bridge) waitLocal() bool {
	<-b.localUp
	return b.local != nil && b.ctx.Err() == nil
}

// watchModem stops the bridge when the modem's port closes.
func (b *Bridge) watchModem() {
	defer b.wg.Done()
	select {
	case <-b.ctx.Done():
	case <-b.opts.Modem.Done():
		err := b.opts.Modem.Err()
		if err == nil {
			err = atmodem.ErrClosed
		}
		b.stop(fmt.Errorf("bridge: the modem's port closed: %w", err))
	}
}

// Addr is where local clients connect: the embedded broker's listen
// address, or the existing broker's URL.
func (b *Bridge) Addr() string { return b.local.addr() }

// Connected reports whether the modem's connection to the remote broker
// is up.
func (b *Bridge) Connected() bool { return b.client.IsConnectionOpen() }

// Done is closed when the bridge has stopped: after Close, or by itself
// when the modem's port closed (Err says why).
func (b *Bridge) Done() <-chan struct{} { return b.done }

// Err is why the bridge stopped by itself; nil after Close.
func (b *Bridge) Err() error {
	select {
	case <-b.done:
		return b.err
	default:
		return nil
	}
}

// Close stops the bridge: the local broker (or the local client), the
// modem's connection (what is queued stays in the durable queue), and the
// queues. It is safe to call more than once.
func (b *Bridge) Close() error {
	b.stop(nil)
	return nil
}

// stop shuts everything down once, recording why.
func (b *Bridge) stop(why error) {
	b.once.Do(func() {
		b.err = why
		if why != nil {
			b.log.Error("bridge stopped", "err", why)
		}
		b.cancel()
		b.localUpOnce.Do(func() { close(b.localUp) })
		if b.report != nil {
			b.report.wait()
		}
		b.state.close()
		if b.local != nil {
			if err := b.local.close(); err != nil {
				b.log.Warn("closing the local side", "err", err)
			}
		}
		if b.client != nil {
			b.client.Disconnect(250)
		}
		b.sent.close()
		if err := b.outQ.Close(); err != nil {
			b.log.Warn("closing the out queue", "err", err)
		}
		go func() {
			b.wg.Wait()
			close(b.done)
		}()
	})
	if why == nil {
		<-b.done
	}
}
