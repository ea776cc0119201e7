package cellmqtt

import (
	"fmt"
	"slices"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// Subscribe subscribes one topic filter with the modem's single-topic form
// (AT+CMQTTSUB=i,len,qos). A non-nil callback becomes the route of the
// filter (added before the request, as paho does); without one, messages
// go to matching routes or the default handler. The filter is renewed after
// every reconnection until Unsubscribe. A filter or QoS the modem would
// reject fails the token at once with nothing written.
func (c *client) Subscribe(topic string, qos byte, callback MessageHandler) Token {
	return c.subscribe([]atmodem.Subscription{{Topic: topic, QoS: qos}}, callback)
}

// SubscribeMultiple subscribes several filters in one request (SUBTOPIC +
// SUB; the session falls back to one SUB per filter on firmware that
// refuses SUBTOPIC). Filters are sent in lexical order.
func (c *client) SubscribeMultiple(filters map[string]byte, callback MessageHandler) Token {
	subs := make([]atmodem.Subscription, 0, len(filters))
	for t, q := range filters {
		subs = append(subs, atmodem.Subscription{Topic: t, QoS: q})
	}
	slices.SortFunc(subs, func(a, b atmodem.Subscription) int {
		switch {
		case a.Topic < b.Topic:
			return -1
		case a.Topic > b.Topic:
			return 1
		}
		return 0
	})
	return c.subscribe(subs, callback)
}

func (c *client) subscribe(subs []atmodem.Subscription, callback MessageHandler) Token {
	t := newSubscribeToken()
	if len(subs) == 0 {
		t.finish(fmt.Errorf("cellmqtt: subscribe: no topic filter: %w", atmodem.ErrInvalidParameter))
		return t
	}
	c.mu.Lock()
	accepts, open, sess := c.acceptsLocked(), c.state == stateConnected, c.sess
	c.mu.Unlock()
	if !accepts {
		t.finishSubscribe(subs, ErrNotConnected)
		return t
	}
	for _, s := range subs {
		var err error
		if sess != nil {
			err = sess.CheckSubscribe(s)
		} else {
			err = checkSubscribeShared(s)
		}
		if err != nil {
			t.finishSubscribe(subs, fmt.Errorf("cellmqtt: subscribe %q: %w", s.Topic, err))
			return t
		}
	}
	for _, s := range subs {
		c.router.addRoute(s.Topic, callback)
	}
	op := func(sess *atmodem.Session) error {
		var err error
		if len(subs) == 1 {
			err = sess.Subscribe(c.ctx, subs[0])
		} else {
			err = sess.SubscribeMultiple(c.ctx, subs)
		}
		if err == nil {
			c.touch()
			c.rememberSubs(subs)
		} else if linkGone(err) {
			c.signalLoss(fmt.Errorf("cellmqtt: subscribe: %w", err))
		}
		if err != nil {
			err = fmt.Errorf("cellmqtt: subscribe: %w", err)
		}
		t.finishSubscribe(subs, err)
		return err
	}
	c.run(t, open, op)
	return t
}

// Unsubscribe unsubscribes the filters, forgets them (they are not renewed
// after a reconnection) and removes their routes, as paho does.
func (c *client) Unsubscribe(topics ...string) Token {
	t := newUnsubscribeToken()
	if len(topics) == 0 {
		t.finish(fmt.Errorf("cellmqtt: unsubscribe: no topic filter: %w", atmodem.ErrInvalidParameter))
		return t
	}
	c.mu.Lock()
	accepts, open, sess := c.acceptsLocked(), c.state == stateConnected, c.sess
	c.mu.Unlock()
	if !accepts {
		t.finish(ErrNotConnected)
		return t
	}
	for _, topic := range topics {
		var err error
		if sess != nil {
			err = sess.CheckSubscribe(atmodem.Subscription{Topic: topic})
		} else {
			err = checkSubscribeShared(atmodem.Subscription{Topic: topic})
		}
		if err != nil {
			t.finish(fmt.Errorf("cellmqtt: unsubscribe %q: %w", topic, err))
			return t
		}
	}
	c.forgetSubs(topics)
	for _, topic := range topics {
		c.router.deleteRoute(topic)
	}
	op := func(sess *atmodem.Session) error {
		err := sess.Unsubscribe(c.ctx, topics...)
		if err == nil {
			c.touch()
		} else {
			if linkGone(err) {
				c.signalLoss(fmt.Errorf("cellmqtt: unsubscribe: %w", err))
			}
			err = fmt.Errorf("cellmqtt: unsubscribe: %w", err)
		}
		t.finish(err)
		return err
	}
	c.run(t, open, op)
	return t
}

// completer is what run needs of a token.
type completer interface{ finish(error) }

// heldOp is an (un)subscribe request waiting for the next connection.
type heldOp struct {
	op  func(*atmodem.Session) error
	tok completer
}

// run carries out op now on its own goroutine when connected, or holds it
// for the next connection with ResumeSubs (failing otherwise, as paho).
func (c *client) run(t completer, open bool, op func(*atmodem.Session) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !open || c.state != stateConnected {
		if !c.opts.ResumeSubs {
			t.finish(ErrResumeSubsOff)
			return
		}
		c.pendingOps = append(c.pendingOps, heldOp{op: op, tok: t})
		return
	}
	sess := c.sess
	if !c.goLocked(func() { _ = op(sess) }) {
		t.finish(ErrNotConnected)
	}
}

// rememberSubs records active subscriptions for renewal after reconnects.
func (c *client) rememberSubs(subs []atmodem.Subscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range subs {
		i := slices.IndexFunc(c.subs, func(x atmodem.Subscription) bool { return x.Topic == s.Topic })
		if i >= 0 {
			c.subs[i] = s
		} else {
			c.subs = append(c.subs, s)
		}
	}
}

// forgetSubs drops subscriptions from the renewal list.
func (c *client) forgetSubs(topics []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs = slices.DeleteFunc(c.subs, func(x atmodem.Subscription) bool { return slices.Contains(topics, x.Topic) })
}
