package atmodem_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// TestSessionsConcurrent runs both client indexes of one modem at once:
// connect, publish, subscribe and disconnect from several goroutines. The
// race detector and the answering modem check that commands never interleave.
func TestSessionsConcurrent(t *testing.T) {
	m := atmodem.New(newAnsweringModem(), atmodem.WithModel(atmodem.A7600))
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var g errgroup.Group
	for i := range 2 {
		s, err := m.Session(i)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		g.Go(func() error {
			opts := atmodem.ConnectOptions{Broker: "mqtt://broker.example.com", ClientID: fmt.Sprintf("c%d", i)}
			if err := s.Connect(ctx, opts); err != nil {
				return err
			}
			var inner errgroup.Group
			for w := range 3 {
				inner.Go(func() error {
					for n := range 20 {
						p := atmodem.Publish{Topic: fmt.Sprintf("t/%d/%d", i, w), Payload: []byte(fmt.Sprint(n)), QoS: 1}
						if err := s.Publish(ctx, p); err != nil {
							return err
						}
					}
					return s.Subscribe(ctx, atmodem.Subscription{Topic: fmt.Sprintf("s/%d/%d", i, w)})
				})
			}
			if err := inner.Wait(); err != nil {
				return err
			}
			return s.Disconnect(ctx, 0)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}
