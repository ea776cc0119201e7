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
	// PublishAsync returns once the modem accepted the PUB; the channel
	// gets its result (atmodem.Session.PublishAsync).
	PublishAsync(context.Context, atmodem.Publish) (<-chan error, error)
	// MaxInflight is how many publishes may wait for their result now.
	MaxInflight() int
	Subscribe(context.Context, atmodem.Subscription) error
	SubscribeMultiple(context.Context, []atmodem.Subscription) error
	Unsubscribe(context.Context, ...string) error
	Disconnect(context.Context, time.Duration) error
	Events() <-chan atmodem.Event
	Close() error
}

var _ session = (*atmodem.Session)(nil)
