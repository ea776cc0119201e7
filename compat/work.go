package compat

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// enqueue hands work that talks to the modem to the worker, in order;
// size is the bytes of the packet it carries out. It waits while the queue
// is full and gives up when the adapter stops.
func (a *adapter) enqueue(size int, run func(context.Context)) { a.push(size, false, run) }

// enqueueChange is enqueue for a subscription change (SUBSCRIBE,
// UNSUBSCRIBE): it holds back the later work of the modem's other
// connections until it is carried out (arrival.go).
func (a *adapter) enqueueChange(size int, run func(context.Context)) { a.push(size, true, run) }

func (a *adapter) push(size int, change bool, run func(context.Context)) {
	order := orderOf(a.m)
	t := order.take(change)
	if !a.queue.push(job{run: run, size: size, ticket: t}, a.stopped) {
		order.done(t) // given back unused
	}
}

// work runs the queued modem operations one after the other, each once no
// earlier subscription change of another connection holds it back
// (arrival.go), until the reader closed the queue and it is empty. After
// the adapter aborted, the operations left run with a cancelled context and
// fail at once.
func (a *adapter) work() {
	defer a.ops.Done()
	defer close(a.pubs)
	order := orderOf(a.m)
	for {
		j, ok := a.queue.pop()
		if !ok {
			return
		}
		order.await(j.ticket)
		j.run(a.ctx)
		order.done(j.ticket)
	}
}

// send writes packets for the client; a failure stops the adapter.
func (a *adapter) send(b []byte) bool {
	if a.disconnecting.Load() {
		return false // the client sent DISCONNECT: it reads nothing more
	}
	if err := a.wire.send(b); err != nil {
		a.stop(fmt.Errorf("compat: writing to the client: %w", err))
		return false
	}
	return true
}

// failTransient stops the adapter after a QoS 1 or 2 publish failed for a
// reason that may pass: the client keeps the message unacknowledged and
// sends it again (DUP) after it reconnected.
func (a *adapter) failTransient(what string, err error) {
	a.stop(fmt.Errorf("compat: %s: %w (%w)", what, io.ErrUnexpectedEOF, err))
}

// subscribe subscribes the valid filters through the modem, all in one
// SUBSCRIBE when there are several, and returns the result of each. The
// modem reports one result for a SUBSCRIBE of several filters; when the
// broker refused it, each filter is subscribed on its own to learn which
// ones it takes.
func (a *adapter) subscribe(ctx context.Context, subs []atmodem.Subscription) []error {
	errs := make([]error, len(subs))
	switch len(subs) {
	case 0:
		return errs
	case 1:
		errs[0] = a.sess.Subscribe(ctx, subs[0])
	default:
		err := a.sess.SubscribeMultiple(ctx, subs)
		var re *atmodem.ResultError
		if errors.As(err, &re) {
			for i, s := range subs {
				errs[i] = a.sess.Subscribe(ctx, s)
			}
		} else {
			for i := range errs {
				errs[i] = err
			}
		}
	}
	for i, s := range subs {
		if errs[i] != nil {
			a.log.Warn("compat: subscribe failed", "filter", s.Topic, "err", errs[i])
			continue
		}
		a.subs.add(s.Topic, s.QoS)
	}
	a.keepSubscriptions()
	return errs
}

// unsubscribe unsubscribes the valid filters through the modem.
func (a *adapter) unsubscribe(ctx context.Context, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	if err := a.sess.Unsubscribe(ctx, topics...); err != nil {
		a.log.Warn("compat: unsubscribe failed", "filters", len(topics), "err", err)
		return err
	}
	for _, t := range topics {
		a.subs.remove(t)
	}
	a.keepSubscriptions()
	return nil
}

// requestDisconnect handles the client's DISCONNECT (size bytes): the
// client's connection closes at once, as a broker closes it (the reader
// does that); the work queued before it is still carried out, then DISC and
// REL, then the end. withWill (MQTT 5 reason 0x04) publishes the client's
// will first; otherwise the will is discarded, as a broker does.
func (a *adapter) requestDisconnect(size int, withWill bool) {
	a.releasing()
	if !withWill {
		a.cleanExit.Store(true)
	}
	a.disconnecting.Store(true)
	a.enqueue(size, func(ctx context.Context) {
		a.alive.Store(false)
		if withWill && a.connected.Load() {
			a.publishWill(ctx)
		}
		if err := a.sess.Disconnect(ctx, a.cfg.disconnectTimeout); err != nil {
			a.log.Warn("compat: disconnect failed", "err", err)
		} else {
			a.disconnected.Store(true)
		}
		a.clientLeft(io.EOF)
	})
}

// keepSubscriptions remembers the client's subscriptions when its session
// is persistent (see kept).
func (a *adapter) keepSubscriptions() {
	if a.persistent {
		kept.store(a.m, a.clientID, a.subs.snapshot())
	}
}

// checkPublish validates a client's message against the modem's limits
// (topic 1-1024 bytes, payload up to 10240) before it is queued.
func (a *adapter) checkPublish(topic string, payload []byte, qos byte) error {
	return a.sess.CheckPublish(atmodem.Publish{Topic: topic, Payload: payload, QoS: qos})
}
