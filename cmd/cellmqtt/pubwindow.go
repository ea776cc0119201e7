package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cellmqtt/cellmqtt"
)

// pubWindow keeps up to max publishes of "cellmqtt pub" waiting for their
// outcome at once (-M, mosquitto_pub's max inflight; the client's
// SetMaxInflight lets the modem have as many results pending). Outcomes
// are awaited in the order the messages were handed over, which is the
// order the modem reports them in. With max 1 each publish is awaited
// before the next, as pub did before -M.
type pubWindow struct {
	ctx     context.Context
	stderr  io.Writer
	max     int
	pending []handedOver // oldest first
}

// handedOver is a message given to the client whose outcome pub has not
// seen yet; label names it in an error ("stdin line 3"; empty for a
// single message).
type handedOver struct {
	label string
	tok   cellmqtt.Token
}

// add takes the token of a message just handed over and, when max are
// pending, waits for the oldest. It returns the error of the first message
// that failed (see fail).
func (w *pubWindow) add(label string, tok cellmqtt.Token) error {
	w.pending = append(w.pending, handedOver{label, tok})
	if len(w.pending) < w.max {
		return nil
	}
	return w.next()
}

// drain waits for every pending message.
func (w *pubWindow) drain() error {
	for len(w.pending) > 0 {
		if err := w.next(); err != nil {
			return err
		}
	}
	return nil
}

// next waits for the oldest pending message.
func (w *pubWindow) next() error {
	h := w.pending[0]
	w.pending = w.pending[1:]
	if err := waitToken(w.ctx, h.tok, w.stderr, "publishing"); err != nil {
		return w.fail(h, err)
	}
	return nil
}

// fail reports that h failed with err. The messages handed over after it
// are already on their way: it waits for them too and names those that
// were not published either, so that no message's fate goes unsaid.
func (w *pubWindow) fail(h handedOver, err error) error {
	err = during("publishing", err)
	if h.label != "" {
		err = fmt.Errorf("%s: %w", h.label, err)
	}
	var failed []string
	for _, o := range w.pending {
		if e := waitToken(w.ctx, o.tok, w.stderr, "publishing"); e != nil {
			failed = append(failed, o.label)
		}
	}
	w.pending = nil
	if len(failed) > 0 {
		err = fmt.Errorf("%w; in flight after it and not published either: %s", err, strings.Join(failed, ", "))
	}
	return err
}
