package bridge

import (
	"sync/atomic"
)

// notifier publishes the bridge state on the local broker, as mosquitto's
// notifications do: a retained "0" at start, "1" when the modem's
// connection to the remote broker is up, "0" when it is lost, and "0" when
// the bridge stops. It goes to the local broker only: the modem cannot send
// the retained will that would set "0" on the remote broker when the
// bridge disappears.
type notifier struct {
	b       *Bridge
	topic   string
	kickCh  chan struct{} // capacity 1: the state may have changed
	losses  atomic.Uint64 // connection losses reported
	started atomic.Bool
	stop    chan struct{}
	done    chan struct{}
}

func newNotifier(b *Bridge) *notifier {
	return &notifier{b: b, topic: b.cfg.StateTopic(), kickCh: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// start publishes "0" and follows the state until close.
func (n *notifier) start() {
	n.started.Store(true)
	if !n.b.cfg.Notifications {
		close(n.done)
		return
	}
	go n.run()
}

// kick says the state may have changed.
func (n *notifier) kick() {
	select {
	case n.kickCh <- struct{}{}:
	default:
	}
}

// lost says the connection was lost (so a quick reconnect still shows 0).
func (n *notifier) lost() {
	n.losses.Add(1)
	n.kick()
}

// close publishes "0" and stops.
func (n *notifier) close() {
	if !n.started.Load() {
		return
	}
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	<-n.done
}

// run owns the published state.
func (n *notifier) run() {
	defer close(n.done)
	last := ""
	var seen uint64
	publish := func(s string) {
		if s == last {
			return
		}
		last = s
		if err := n.b.local.publishState(n.topic, []byte(s)); err != nil {
			n.b.log.Warn("publishing the bridge state", "topic", n.topic, "state", s, "err", err)
		}
	}
	publish("0")
	n.kick()
	for {
		select {
		case <-n.stop:
			publish("0")
			return
		case <-n.kickCh:
		}
		if l := n.losses.Load(); l != seen {
			seen = l
			publish("0")
		}
		if n.b.client.IsConnectionOpen() {
			publish("1")
		} else {
			publish("0")
		}
	}
}
