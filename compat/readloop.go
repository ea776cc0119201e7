package compat

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// takeoverGrace is how long a connection whose session a new connection
// takes over may still deliver what it sent: a client that disconnected
// and reconnected at once has its DISCONNECT read (and its will
// discarded) before the new connection goes on.
const takeoverGrace = 250 * time.Millisecond

// readLoop reads the CONNECT, then every packet of the client, until the
// client sends DISCONNECT or the connection ends. It closes the work queue
// when it returns, so the worker finishes what the client handed over.
func (a *adapter) readLoop() {
	defer a.wg.Done()
	connected := a.readConnect()
	a.connectDone.Store(true)
	a.ops.Done()
	if !connected {
		return
	}
	defer a.queue.close()
	defer a.progress.reading.Store(false)
	for {
		frame, err := readFrame(a.wire, maxPacketSize)
		var big *oversize
		if errors.As(err, &big) {
			if err = a.proto.refuseOversize(big); err == nil {
				a.progress.advance(a.wire.received())
				continue
			}
			a.releasing()
			a.clientLeft(err)
			return
		}
		if err != nil {
			a.readFailed(err)
			return
		}
		if mayBeHeldBack(frame) {
			awaitEarlierArrivals(a.m, a)
		}
		if err := a.proto.handle(frame); err != nil {
			a.releasing()
			a.clientLeft(err)
			return
		}
		a.progress.advance(a.wire.received())
		if packetType(frame) == 14 && a.disconnecting.Load() {
			// The client sends nothing after DISCONNECT and expects its
			// connection closed; what it handed over before still goes
			// to the modem.
			a.wire.shutdown(io.EOF)
			return
		}
	}
}

// readFailed ends the adapter after reading the client failed: the client
// went away, sent something that is not MQTT, fell silent for longer than
// its keepalive allows, or a new connection took its session over.
func (a *adapter) readFailed(err error) {
	if isClosed(a.stopped) {
		return // the adapter stopped reading itself
	}
	a.releasing()
	switch {
	case a.takenOver.Load():
		a.proto.takenOver()
		a.clientLeft(fmt.Errorf("compat: a new connection with client ID %q took the session over (MQTT-3.1.4-2): %w", a.clientID, err))
	case errors.Is(err, errMalformed):
		if b5, ok := a.proto.(*broker5); ok {
			_ = b5.disconnectWith(0x81, err.Error()) // malformed packet
		}
		a.clientLeft(fmt.Errorf("compat: client sent a malformed packet: %w", err))
	case errors.Is(err, os.ErrDeadlineExceeded):
		a.clientLeft(fmt.Errorf("compat: client silent for one and a half keepalive periods: %w", err))
	default:
		a.clientLeft(fmt.Errorf("compat: client went away: %w", err))
	}
}

// readConnect takes the first packet (read by Serve, or from the wire),
// which must be CONNECT, picks the protocol by its level and lets it
// answer. It starts the worker and the deliverer when the modem connected.
func (a *adapter) readConnect() bool {
	frame := a.first
	if frame == nil {
		var err error
		if frame, err = readFrame(a.wire, maxPacketSize); err != nil {
			a.stop(fmt.Errorf("compat: reading CONNECT: %w", err))
			return false
		}
	}
	a.first = nil
	if packetType(frame) != 1 {
		a.stop(fmt.Errorf("compat: first packet is type %d, not CONNECT: %w", packetType(frame), errMalformed))
		return false
	}
	level, err := connectLevel(frame)
	if err != nil {
		a.stop(err)
		return false
	}
	switch level {
	case 3, 4:
		a.proto = &broker311{a: a}
	case 5:
		a.proto = &broker5{a: a}
	default:
		// An unknown level is answered in 3.1.1, as MQTT 5 servers do.
		_ = a.wire.send(connack311(1))
		a.stop(fmt.Errorf("compat: unsupported MQTT protocol level %d", level))
		return false
	}
	if err := a.proto.connect(frame); err != nil {
		a.stop(err)
		return false
	}
	a.alive.Store(true)
	if w, ok := a.wire.(interface{ watchKeepAlive(time.Duration) }); ok && a.keepAlive > 0 {
		w.watchKeepAlive(time.Duration(a.keepAlive) * time.Second)
	}
	a.ops.Add(2)
	go a.work()
	go a.acks()
	a.wg.Add(1)
	go a.deliver()
	return true
}

// mayBeHeldBack reports whether a packet becomes modem work that an
// earlier subscription change of another connection holds back (arrival.go):
// PUBLISH, PUBREL, DISCONNECT. Its reader first lets the other readers
// take in what arrived before it. A SUBSCRIBE or UNSUBSCRIBE waits for
// nothing, so its reader does not wait either.
func mayBeHeldBack(frame []byte) bool {
	switch packetType(frame) {
	case 3, 6, 14:
		return true
	}
	return false
}
