package cellmqtt

import (
	"context"
	"time"
)

// connection is one connection to the broker, from the CONNECT that made it
// to its loss. Everything done on it (publishes, (un)subscribes, liveness
// checks) uses its context, which ends at the loss, so nothing waits on a
// connection that is gone.
//
// A loss is reported with report by whoever finds it: the sender, a
// request, the liveness check, or the event loop for the modem's own
// reports. The first report is the connection's one loss; later ones are
// no-ops. Only the connection manager acts on it.
type connection struct {
	sess   session
	broker string
	seq    uint64    // Seq of the CONNECT's answer: events with a lower one are older
	since  time.Time // when it was made

	ctx    context.Context // ends at the loss or when the client disconnects
	cancel context.CancelCauseFunc
}

func newConnection(parent context.Context, sess session, broker string) *connection {
	ctx, cancel := context.WithCancelCause(parent)
	return &connection{sess: sess, broker: broker, seq: sess.ConnectedSeq(), since: time.Now(), ctx: ctx, cancel: cancel}
}

// report records the loss of the connection (the first report wins) and
// ends everything in flight on it.
func (cn *connection) report(err error) { cn.cancel(err) }

// lost returns the loss once one was reported (nil before, and when the
// client is disconnecting rather than the connection lost).
func (cn *connection) lost() error {
	if cn.ctx.Err() == nil {
		return nil
	}
	if err := context.Cause(cn.ctx); err != context.Canceled {
		return err
	}
	return nil
}

// end releases the connection's context (after its loss or at shutdown).
func (cn *connection) end() { cn.cancel(context.Canceled) }
