package cellmqtt

import (
	"context"
	"log/slog"
	"sync"
)

// route is one topic filter with its handler.
type route struct {
	filter  string
	handler MessageHandler
}

// router delivers received messages to the handlers of matching routes (or
// the default handler when none matches). The event loop hands messages over
// with enqueue, which never blocks: messages wait in an inbox slice until the
// dispatcher goroutine takes them. When handlers are slower than arrivals the
// inbox grows; with a limit (SetMessageBufferLimit) the oldest waiting
// message is dropped and logged instead.
type router struct {
	log   *slog.Logger
	order bool
	limit int

	mu             sync.Mutex
	routes         []route
	defaultHandler MessageHandler
	inbox          []*message
	dropped        uint64

	signal chan struct{} // capacity 1: the inbox is not empty
	wg     sync.WaitGroup
}

func newRouter(log *slog.Logger, order bool, limit int, def MessageHandler) *router {
	return &router{log: log, order: order, limit: limit, defaultHandler: def, signal: make(chan struct{}, 1)}
}

// addRoute adds a handler for filter, replacing the handler of an existing
// route with the same filter (as paho does).
func (r *router) addRoute(filter string, h MessageHandler) {
	if h == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.routes {
		if r.routes[i].filter == filter {
			r.routes[i].handler = h
			return
		}
	}
	r.routes = append(r.routes, route{filter: filter, handler: h})
}

// deleteRoute removes the route of filter.
func (r *router) deleteRoute(filter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.routes {
		if r.routes[i].filter == filter {
			r.routes = append(r.routes[:i], r.routes[i+1:]...)
			return
		}
	}
}

// handlers returns the handlers of every route matching topic, in the order
// the routes were added, or the default handler when none matches.
func (r *router) handlers(topic string) []MessageHandler {
	r.mu.Lock()
	defer r.mu.Unlock()
	var hs []MessageHandler
	for _, rt := range r.routes {
		if TopicMatches(rt.filter, topic) {
			hs = append(hs, rt.handler)
		}
	}
	if len(hs) == 0 && r.defaultHandler != nil {
		hs = append(hs, r.defaultHandler)
	}
	return hs
}

// enqueue hands a message to the dispatcher without blocking.
func (r *router) enqueue(m *message) {
	r.mu.Lock()
	if r.limit > 0 && len(r.inbox) >= r.limit {
		old := r.inbox[0]
		r.inbox[0] = nil
		r.inbox = r.inbox[1:]
		r.dropped++
		r.log.Warn("cellmqtt: handlers too slow, dropped the oldest received message",
			"topic", old.topic, "limit", r.limit, "dropped_total", r.dropped)
	}
	r.inbox = append(r.inbox, m)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// take removes and returns every waiting message.
func (r *router) take() []*message {
	r.mu.Lock()
	defer r.mu.Unlock()
	ms := r.inbox
	r.inbox = nil
	return ms
}

// run dispatches messages until ctx ends: in order on this goroutine when
// order is set, otherwise each message on its own goroutine. Messages still
// waiting when ctx ends are dropped. run returns after every handler
// goroutine it started has returned.
func (r *router) run(ctx context.Context, c Client) {
	defer r.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			if n := len(r.take()); n > 0 {
				r.log.Debug("cellmqtt: received messages not delivered before disconnect", "count", n)
			}
			return
		case <-r.signal:
		}
		for _, m := range r.take() {
			if ctx.Err() != nil {
				break
			}
			r.deliver(c, m)
		}
	}
}

func (r *router) deliver(c Client, m *message) {
	for _, h := range r.handlers(m.topic) {
		if r.order {
			h(c, m)
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			h(c, m)
		}()
	}
}
