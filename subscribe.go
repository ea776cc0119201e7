package cellmqtt

import (
	"context"
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
	accepts, sess := c.acceptsLocked(), c.checker()
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
			err = atmodem.CheckSubscribeAnyModel(s)
		}
		if err != nil {
			t.finishSubscribe(subs, fmt.Errorf("cellmqtt: subscribe %q: %w", s.Topic, err))
			return t
		}
	}
	for _, s := range subs {
		c.router.addRoute(s.Topic, callback)
	}
	c.request(t, heldOp{
		run: func(ctx context.Context, sess session) error {
			if len(subs) == 1 {
				return sess.Subscribe(ctx, subs[0])
			}
			return sess.SubscribeMultiple(ctx, subs)
		},
		done: func(err error) {
			if err == nil {
				c.rememberSubs(subs)
			} else {
				err = fmt.Errorf("cellmqtt: subscribe: %w", err)
			}
			t.finishSubscribe(subs, err)
		},
		fail: func(err error) { t.finishSubscribe(subs, err) },
	})
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
	accepts, sess := c.acceptsLocked(), c.checker()
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
			err = atmodem.CheckSubscribeAnyModel(atmodem.Subscription{Topic: topic})
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
	c.request(t, heldOp{
		run: func(ctx context.Context, sess session) error { return sess.Unsubscribe(ctx, topics...) },
		done: func(err error) {
			if err != nil {
				err = fmt.Errorf("cellmqtt: unsubscribe: %w", err)
			}
			t.finish(err)
		},
		fail: t.finish,
	})
	return t
}

// heldOp is an (un)subscribe request: carried out on the live connection,
// or held for the next one.
type heldOp struct {
	run  func(ctx context.Context, sess session) error // the request to the modem
	done func(err error)                               // its answer came: complete the token
	fail func(err error)                               // it will never run (Disconnect)
}

// request carries out op now, on its own goroutine, when connected; holds
// it for the next connection with ResumeSubs (failing it otherwise, as
// paho does).
func (c *client) request(t completer, op heldOp) {
	c.mu.Lock()
	r := c.run
	var conn *connection
	if c.state == stateConnected {
		conn = c.conn
	}
	if conn == nil || r == nil {
		if !c.opts.ResumeSubs {
			c.mu.Unlock()
			t.finish(ErrResumeSubsOff)
			return
		}
		c.pendingOps = append(c.pendingOps, op)
		c.mu.Unlock()
		return
	}
	r.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer r.wg.Done()
		if !c.do(conn, op) {
			c.mu.Lock()
			c.pendingOps = append(c.pendingOps, op)
			c.mu.Unlock()
		}
	}()
}

// do carries out op on conn. It reports false when the connection was lost
// under it: the request is then held and carried out on the next connection
// (a SUB in flight at a loss is made again, and its token completes then).
// A request whose outcome is unknown (result 6, no answer) is made again on
// a link the modem says is alive, up to maxUncertain times: subscribing or
// unsubscribing twice does no harm. A request the modem refused completes
// with the error.
func (c *client) do(conn *connection, op heldOp) bool {
	for attempt := 1; ; attempt++ {
		err := op.run(conn.ctx, conn.sess)
		if err == nil {
			c.touch()
			op.done(nil)
			return true
		}
		if conn.ctx.Err() != nil {
			return false
		}
		switch atmodem.FateOf(err) {
		case atmodem.FateLinkDown:
			conn.report(err)
			return false
		case atmodem.FateUnknown:
			if lerr := c.checkLink(conn); lerr != nil {
				conn.report(fmt.Errorf("%w (after a request: %w)", lerr, err))
				return false
			}
			if attempt < maxUncertain && sleepCtx(conn.ctx, retryPause) {
				continue
			}
			if conn.ctx.Err() != nil {
				return false
			}
		}
		op.done(err)
		return true
	}
}

// completer is what request needs of a token.
type completer interface{ finish(error) }

// checker returns the session to check requests against (nil before the
// modem is known). c.mu is held.
func (c *client) checker() session {
	if c.conn != nil {
		return c.conn.sess
	}
	return nil
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
