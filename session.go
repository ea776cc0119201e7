package cellmqtt

import (
	"context"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// session is what the client needs of the modem's client index: an
// *atmodem.Session (which runs every AT sequence), or, in the tests of the
// connection manager and the sender, a scripted one.
type session interface {
	Index() int
	CheckConnect(atmodem.ConnectOptions) error
	CheckPublish(atmodem.Publish) error
	CheckSubscribe(atmodem.Subscription) error
	Connect(context.Context, atmodem.ConnectOptions) error
	// ConnectedSeq is the atmodem.Event.Seq of the current connection's
	// CONNECT: loss events with a lower Seq belong to an earlier one.
	ConnectedSeq() uint64
	Connected(context.Context) (bool, error)
	Publish(context.Context, atmodem.Publish) error
	Subscribe(context.Context, atmodem.Subscription) error
	SubscribeMultiple(context.Context, []atmodem.Subscription) error
	Unsubscribe(context.Context, ...string) error
	Disconnect(context.Context, time.Duration) error
	Events() <-chan atmodem.Event
	Close() error
}

var _ session = (*atmodem.Session)(nil)
