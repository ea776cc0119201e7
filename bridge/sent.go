package bridge

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/queue"
)

// sentWatcher follows the tokens of the messages the bridge queued for the
// remote broker, in queue order (the client sends in that order): it
// counts the confirmed ones, logs the ones the modem refused, and tells
// the echo filter when an echo can come (confirmed) or cannot (failed).
type sentWatcher struct {
	b *Bridge

	mu      sync.Mutex // guards pending and closed
	pending []sentMessage
	closed  bool
	wake    chan struct{} // capacity 1: a message was added or closed

	confirmed atomic.Uint64
	failed    atomic.Uint64
	done      chan struct{}
}

// sentMessage is one message handed to the client.
type sentMessage struct {
	tok  cellmqtt.Token
	echo string // the echo filter's key, or "" when no echo is expected
}

func newSentWatcher(b *Bridge) *sentWatcher {
	w := &sentWatcher{b: b, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// add follows tok; echo is the echo filter's key of a message the remote
// broker will send back to the bridge ("" for none).
func (w *sentWatcher) add(tok cellmqtt.Token, echo string) {
	m := sentMessage{tok: tok, echo: echo}
	w.mu.Lock()
	w.pending = append(w.pending, m)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// close stops following; it returns when the watcher goroutine ended.
func (w *sentWatcher) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
}

// run waits for each token in turn.
func (w *sentWatcher) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return
		}
		if len(w.pending) == 0 {
			w.mu.Unlock()
			<-w.wake
			continue
		}
		m := w.pending[0]
		w.pending[0] = sentMessage{}
		w.pending = w.pending[1:]
		if len(w.pending) == 0 {
			w.pending = nil // let the backing array go
		}
		w.mu.Unlock()
		select {
		case <-m.tok.Done():
		case <-w.b.ctx.Done():
			// Closing: what is still queued stays in the (durable) queue.
			return
		}
		w.finish(m)
	}
}

// finish accounts for one completed token.
func (w *sentWatcher) finish(m sentMessage) {
	err := m.tok.Error()
	if err == nil {
		w.confirmed.Add(1)
		if m.echo != "" {
			w.b.echo.confirmed(m.echo)
		}
		return
	}
	if m.echo != "" {
		w.b.echo.cancel(m.echo)
	}
	if errors.Is(err, cellmqtt.ErrDisconnected) {
		return // closing: the message stays queued
	}
	w.failed.Add(1)
	if errors.Is(err, queue.ErrDropped) {
		return // logged by the queue's OnDrop
	}
	w.b.log.Error("the remote side refused a bridged message", "err", err)
}
