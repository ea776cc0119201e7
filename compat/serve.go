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
	"github.com/eclipse/paho.golang/packets"
)

const (
	// connectWait bounds how long an accepted client may take to send its
	// CONNECT.
	connectWait = 30 * time.Second
	// sendWait bounds one write to a local client that does not read.
	sendWait = 30 * time.Second
	// indexWait bounds how long a new local client waits for the client
	// index of a connection that is just ending.
	indexWait = 10 * time.Second
)

// Serve is a local MQTT 3.1.1 and 5 endpoint over the modem: every
// connection accepted on ln takes one client index of the modem (the
// lowest free one) and is served like a Dial connection, to the broker at
// server. When no index is free, its CONNECT is answered with "server
// unavailable" (3.1.1 return code 3, MQTT 5 reason 0x88) and the
// connection closed. Serve returns when ln is closed (nil) or fails,
// after it ended the connections it served.
func Serve(ln net.Listener, m *atmodem.Modem, server string, opts ...Option) error {
	if m == nil {
		return fmt.Errorf("compat: Serve: nil modem: %w", atmodem.ErrInvalidParameter)
	}
	if _, err := atmodem.ParseBroker(server); err != nil {
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

// serveConn serves one local client until it is done.
func serveConn(c net.Conn, m *atmodem.Modem, server string, cfg config) {
	log := cfg.logger.With("client", c.RemoteAddr().String())
	ctx, cancel := context.WithTimeout(context.Background(), indexWait)
	sess, err := claimSession(ctx, m, cfg.index)
	cancel()
	if err != nil {
		log.Warn("compat: no client index free: refusing the connection", "err", err)
		refuseUnavailable(c, err)
		return
	}
	a := newAdapter(cfg, m, sess, server)
	w := &tcpWire{c: c, abort: a.stopped}
	_ = c.SetReadDeadline(time.Now().Add(connectWait))
	a.start(w)
	<-a.done
	_ = c.Close()
}

// refuseUnavailable reads the client's CONNECT and answers "server
// unavailable" in its protocol version, then closes the connection.
func refuseUnavailable(c net.Conn, why error) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(connectWait))
	frame, err := readFrame(c, maxPacketSize)
	if err != nil || packetType(frame) != 1 {
		return
	}
	level, err := connectLevel(frame)
	if err != nil {
		return
	}
	if level == 5 {
		_, _ = c.Write(connack5(packets.ConnackServerUnavailable, &packets.Properties{ReasonString: why.Error()}))
		return
	}
	_, _ = c.Write(connack311(3))
}

// tcpWire is a local client's TCP connection as an adapter's wire.
type tcpWire struct {
	c     net.Conn
	mu    sync.Mutex
	abort <-chan struct{}
	once  sync.Once
	idle  atomic.Int64 // longest silence of the client, ns; 0: unlimited
}

// Read reads from the client. Once its keepalive is known, a client silent
// for one and a half keepalive periods is taken as gone, as a broker does
// (MQTT-3.1.2-24).
func (w *tcpWire) Read(b []byte) (int, error) {
	if idle := time.Duration(w.idle.Load()); idle > 0 {
		_ = w.c.SetReadDeadline(time.Now().Add(idle))
	}
	return w.c.Read(b)
}

// watchKeepAlive sets the client's keepalive period.
func (w *tcpWire) watchKeepAlive(ka time.Duration) { w.idle.Store(int64(ka * 3 / 2)) }

// connected lifts the CONNECT deadline.
func (w *tcpWire) connected() { w.once.Do(func() { _ = w.c.SetReadDeadline(time.Time{}) }) }

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
