package compat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

const (
	// connectWait bounds how long an accepted client may take to send its
	// CONNECT (and, on a TLS listener, its handshake). No client index is
	// taken before a valid CONNECT arrived.
	connectWait = 5 * time.Second
	// sendWait bounds one write to a local client that does not read.
	sendWait = 30 * time.Second
)

// Serve is a local MQTT 3.1.1 and 5 endpoint over the modem: every
// connection accepted on ln that sends a valid CONNECT within a few seconds
// takes one client index of the modem (the lowest free one) and is served
// like a Dial connection, to the broker at server. A CONNECT with the
// client ID of a connection still served takes its session over: that
// connection ends first (MQTT-3.1.4-2). When no index is free, a CONNECT
// waits for one to be given back (WithIndexWait, 30 s by default), then is
// answered "server unavailable" (3.1.1 return code 3, MQTT 5 reason 0x88)
// and the connection closed. With WithAuthenticator, clients are authenticated
// before an index is taken. Serve returns when ln is closed (nil) or
// fails, after it ended the connections it served; a broker URL the modem
// cannot take is an error at once.
func Serve(ln net.Listener, m *atmodem.Modem, server string, opts ...Option) error {
	if m == nil {
		return fmt.Errorf("compat: Serve: nil modem: %w", atmodem.ErrInvalidParameter)
	}
	if err := checkServer(server); err != nil {
		return fmt.Errorf("compat: Serve: %w", err)
	}
	cfg := newConfig(opts)
	if err := cfg.check(); err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	defer func() {
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("compat: Serve: %w", err)
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(c, m, server, cfg)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}

// serveConn serves one local client until it is done. Nothing reaches the
// modem before the client sent a valid CONNECT, and passed the
// authentication when there is one.
func serveConn(c net.Conn, m *atmodem.Modem, server string, cfg config) {
	log := cfg.logger.With("client", c.RemoteAddr().String())
	_ = c.SetReadDeadline(time.Now().Add(cfg.connectWait))
	frame, err := readFrame(c, maxPacketSize)
	var info connectInfo
	if err == nil {
		info, err = parseConnect(frame)
	}
	if err != nil {
		if errors.Is(err, errUnsupportedLevel) {
			_, _ = c.Write(connack311(1))
		}
		log.Debug("compat: no valid CONNECT: closing the connection", "err", err)
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	// Packets that arrived on the other connections before this CONNECT
	// go to the modem first (arrival.go).
	awaitEarlierArrivals(m, nil)
	if rc311, rc5, err := cfg.authenticate(info.username, info.password); err != nil {
		log.Warn("compat: local client refused", "err", err)
		refuseConnect(c, info.level, rc311, rc5, err)
		_ = c.Close()
		return
	}
	if info.clientID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.cleanupTimeout)
		err := takeOverSession(ctx, m, info.clientID, nil)
		cancel()
		if err != nil {
			log.Warn("compat: refusing the connection", "err", err)
			refuseConnect(c, info.level, 3, 0x88, err)
			_ = c.Close()
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.indexWait)
	sess, err := claimSession(ctx, m, cfg.index, true)
	cancel()
	if err != nil {
		log.Warn("compat: no client index free: refusing the connection", "err", err)
		refuseConnect(c, info.level, 3, 0x88, err)
		_ = c.Close()
		return
	}
	a := newAdapter(cfg, m, sess, server)
	a.first = frame
	w := &tcpWire{c: c, abort: a.stopped}
	a.start(w)
	<-a.done
	_ = c.Close()
}

// checkServer refuses a broker URL the modem cannot take (a scheme other
// than tcp, mqtt, ssl, tls or mqtts, or a server address no model carries),
// before anything is written to the modem.
func checkServer(server string) error {
	if _, err := atmodem.ParseBroker(server); err != nil {
		return err
	}
	return atmodem.CheckConnectAnyModel(0, atmodem.ConnectOptions{Broker: server, ClientID: "check", KeepAlive: 60 * time.Second})
}

// tcpWire is a local client's TCP connection as an adapter's wire.
type tcpWire struct {
	c     net.Conn
	mu    sync.Mutex
	abort <-chan struct{}
	dl    sync.Mutex    // orders the read deadlines of Read and endReading
	idle  time.Duration // longest silence of the client; 0: unlimited
	end   time.Time     // reading ends at this time (stopReading, takeover)
	n     atomic.Int64  // bytes read
}

// Read reads from the client. Once its keepalive is known, a client silent
// for one and a half keepalive periods is taken as gone, as a broker does
// (MQTT-3.1.2-24).
func (w *tcpWire) Read(b []byte) (int, error) {
	w.dl.Lock()
	switch {
	case !w.end.IsZero():
		_ = w.c.SetReadDeadline(w.end)
	case w.idle > 0:
		_ = w.c.SetReadDeadline(time.Now().Add(w.idle))
	}
	w.dl.Unlock()
	n, err := w.c.Read(b)
	w.n.Add(int64(n))
	return n, err
}

func (w *tcpWire) received() int64 { return w.n.Load() }
func (w *tcpWire) pending() int    { return socketPending(w.c) }

// watchKeepAlive sets the client's keepalive period.
func (w *tcpWire) watchKeepAlive(ka time.Duration) {
	w.dl.Lock()
	defer w.dl.Unlock()
	w.idle = ka * 3 / 2
}

// endReading makes reads fail from t on.
func (w *tcpWire) endReading(t time.Time) {
	w.dl.Lock()
	defer w.dl.Unlock()
	if w.end.IsZero() || t.Before(w.end) {
		w.end = t
		_ = w.c.SetReadDeadline(t)
	}
}

func (w *tcpWire) stopReading()                 { w.endReading(time.Now()) }
func (w *tcpWire) takeover(grace time.Duration) { w.endReading(time.Now().Add(grace)) }

func (w *tcpWire) send(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if isClosed(w.abort) {
		return net.ErrClosed
	}
	_ = w.c.SetWriteDeadline(time.Now().Add(sendWait))
	_, err := w.c.Write(b)
	return err
}

func (w *tcpWire) shutdown(error) { _ = w.c.Close() }
