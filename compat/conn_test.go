package compat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	packets5 "github.com/eclipse/paho.golang/packets"
)

func newTestConn(t *testing.T) (*Conn, *serverEnd) {
	t.Helper()
	c, s := newConn(Addr{Name: "modem", Index: 1}, Addr{Name: "tcp://broker:1883", Index: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c, s
}

// readN reads exactly n bytes from r.
func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

func TestConnSplitWritesArriveAsOnePacket(t *testing.T) {
	c, s := newTestConn(t)
	// A PINGREQ (0xC0 0x00) and a PUBLISH written in pieces, as paho.golang
	// writes the fixed header and the body separately.
	pieces := [][]byte{{0xC0}, {0x00}, {0x30}, {0x07}, {0x00, 0x03}, []byte("a/b"), []byte("hi")}
	go func() {
		for _, p := range pieces {
			if _, err := c.Write(p); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
	}()
	f1, err := readFrame(s, maxPacketSize)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := readFrame(s, maxPacketSize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f1, []byte{0xC0, 0x00}) {
		t.Errorf("first frame % x", f1)
	}
	want := []byte{0x30, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i'}
	if !bytes.Equal(f2, want) {
		t.Errorf("second frame % x, want % x", f2, want)
	}
}

func TestConnConcurrentWritersStayWhole(t *testing.T) {
	c, s := newTestConn(t)
	const writers, each, size = 8, 50, 3000 // larger than nothing, crosses the pipe limit in total
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := bytes.Repeat([]byte{byte('A' + w)}, size)
			for range each {
				if _, err := c.Write(chunk); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		}()
	}
	counts := map[byte]int{}
	for range writers * each {
		chunk := readN(t, s, size)
		for _, b := range chunk {
			if b != chunk[0] {
				t.Fatalf("interleaved write: chunk mixes %q and %q", chunk[0], b)
			}
		}
		counts[chunk[0]]++
	}
	wg.Wait()
	for w := range writers {
		if got := counts[byte('A'+w)]; got != each {
			t.Errorf("writer %c: %d chunks, want %d", 'A'+w, got, each)
		}
	}
}

// TestConnPahoPacketsFromGoroutinesStayWhole: paho.golang writes a packet
// as several Write calls (fixed header, then each part) from whichever
// goroutine sends it (publisher, acknowledgements, pinger, subscribe);
// with Conn a sync.Locker the packets reach the adapter whole.
func TestConnPahoPacketsFromGoroutinesStayWhole(t *testing.T) {
	c, s := newTestConn(t)
	const writers, each = 4, 200
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = c.Close(); wg.Wait() }) // writers end before the test does
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				pub := &packets5.Publish{Topic: fmt.Sprintf("w/%d", w), QoS: 1, PacketID: uint16(i + 1),
					Properties: &packets5.Properties{}, Payload: bytes.Repeat([]byte{byte('a' + w)}, 1+i%50)}
				if _, err := pub.WriteTo(c); err != nil {
					if !errors.Is(err, net.ErrClosed) {
						t.Errorf("write: %v", err)
					}
					return
				}
			}
		}()
	}
	for range writers * each {
		frame, err := readFrame(s, maxPacketSize)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := decode5(frame)
		if err != nil {
			t.Fatalf("packets mixed: % x: %v", frame, err)
		}
		p, ok := cp.Content.(*packets5.Publish)
		if !ok || len(p.Topic) != 3 || !bytes.Equal(p.Payload, bytes.Repeat([]byte{'a' + p.Topic[2] - '0'}, len(p.Payload))) {
			t.Fatalf("packets mixed: %+v", cp.Content)
		}
	}
	wg.Wait()
}

func TestConnReadDeadline(t *testing.T) {
	c, s := newTestConn(t)
	if err := c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read after the deadline: %v, want a timeout net.Error", err)
	}
	// Clearing the deadline makes Read wait for data again.
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.send([]byte{0xD0, 0x00}); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, c, 2); !bytes.Equal(got, []byte{0xD0, 0x00}) {
		t.Errorf("read % x", got)
	}
	// A deadline in the past fails at once, even with data waiting.
	if err := s.send([]byte{0xD0, 0x00}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(make([]byte, 2)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read with a past deadline: %v", err)
	}
}

func TestConnReadDeadlineWakesPendingRead(t *testing.T) {
	c, _ := newTestConn(t)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		errc <- err
	}()
	// Setting a deadline while Read waits applies to it.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("pending Read: %v", err)
	}
}

func TestConnWriteDeadlineWhenAdapterDoesNotRead(t *testing.T) {
	c, s := newTestConn(t)
	_ = c.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
	n, err := c.Write(make([]byte, pipeLimit+100))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write into a full pipe: %v", err)
	}
	if n != pipeLimit {
		t.Errorf("wrote %d bytes before the deadline, want %d", n, pipeLimit)
	}
	_ = c.SetWriteDeadline(time.Time{})
	readN(t, s, pipeLimit)
	if _, err := c.Write([]byte{1}); err != nil {
		t.Errorf("Write after the adapter read: %v", err)
	}
}

func TestConnCloseByClient(t *testing.T) {
	c, s := newTestConn(t)
	if _, err := c.Write([]byte{0xE0, 0x00}); err != nil { // DISCONNECT
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		pending <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := <-pending; !errors.Is(err, net.ErrClosed) {
		t.Errorf("pending Read after Close: %v, want net.ErrClosed", err)
	}
	// The adapter still reads what was written before Close, then EOF.
	if f, err := readFrame(s, maxPacketSize); err != nil || !bytes.Equal(f, []byte{0xE0, 0x00}) {
		t.Errorf("adapter read % x, %v", f, err)
	}
	if _, err := readFrame(s, maxPacketSize); err != io.EOF {
		t.Errorf("adapter read after the client closed: %v, want io.EOF", err)
	}
	if _, err := c.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := s.send([]byte{0xD0, 0x00}); err == nil {
		t.Error("adapter send after the client closed succeeded")
	}
}

func TestConnShutdownByAdapter(t *testing.T) {
	c, s := newTestConn(t)
	lost := lostError(atmodem.Event{Kind: atmodem.EventConnLost, Err: atmodem.ErrConnectionLost})
	if err := s.send([]byte{0xD0, 0x00}); err != nil {
		t.Fatal(err)
	}
	s.shutdown(lost)
	// What was sent before is still read, then the loss.
	if got := readN(t, c, 2); !bytes.Equal(got, []byte{0xD0, 0x00}) {
		t.Errorf("read % x", got)
	}
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, io.EOF) || !errors.Is(err, atmodem.ErrConnectionLost) {
		t.Errorf("Read after the loss: %v, want io.EOF and ErrConnectionLost", err)
	}
	if _, err := c.Write([]byte{0xC0, 0x00}); !errors.Is(err, atmodem.ErrConnectionLost) {
		t.Errorf("Write after the loss: %v", err)
	}
}

func TestConnAddrs(t *testing.T) {
	c, _ := newTestConn(t)
	tests := []struct {
		addr net.Addr
		want string
	}{
		{c.LocalAddr(), "modem/1"},
		{c.RemoteAddr(), "tcp://broker:1883"},
	}
	for _, tt := range tests {
		if tt.addr.Network() != "cellmqtt" || tt.addr.String() != tt.want {
			t.Errorf("addr %s %s, want cellmqtt %s", tt.addr.Network(), tt.addr.String(), tt.want)
		}
	}
}
