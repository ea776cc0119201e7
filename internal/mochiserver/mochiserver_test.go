package mochiserver

import (
	"bytes"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCloseWhileClientsComeAndGo: Close returns while connections are being
// accepted, registered and closed by their clients at the same time.
func TestCloseWhileClientsComeAndGo(t *testing.T) {
	for range 20 {
		s := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
		ln := serve(t, s)
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					return // the listener closed first
				}
				defer c.Close()
				cp := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
					Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "c" + string(rune('a'+i)), Keepalive: 30}}
				if b, err := encode(cp); err == nil {
					_, _ = c.Write(b)
				}
				if i%2 == 0 {
					_ = c.Close() // leaving while Close runs
				} else {
					_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
					_, _ = c.Read(make([]byte, 8))
				}
			}()
		}
		closed := make(chan error, 1)
		go func() { closed <- Close(s, ln, time.Second) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return")
		}
		wg.Wait()
	}
}

// serve lets every client into s and serves it on a loopback listener,
// which it returns.
func serve(t *testing.T, s *mochi.Server) *TrackingListener {
	t.Helper()
	if err := s.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Track(raw)
	if err := s.AddListener(listeners.NewNet("t", ln)); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	return ln
}

// encode gives the bytes of a CONNECT packet.
func encode(pk packets.Packet) ([]byte, error) {
	var b bytes.Buffer
	if err := pk.ConnectEncode(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// allowAll lets every client in.
type allowAll struct{ mochi.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }
