package netdelay

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acc <- nil
			return
		}
		acc <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-acc
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestDelayEachWay: what one end writes reaches the other no earlier than
// the delay (each way, so a request and its answer pay the round trip),
// in order and whole; the rate spaces bytes out.
func TestDelayEachWay(t *testing.T) {
	const delay = 30 * time.Millisecond
	a, b := pair(t)
	d := Wrap(a, Path{Delay: delay, Rate: 10000})
	defer d.Close()
	start := time.Now()
	msg := bytes.Repeat([]byte("0123456789"), 50) // 500 bytes: 50 ms at 10000 B/s
	if _, err := d.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < delay+50*time.Millisecond {
		t.Fatalf("arrived after %v, before the line time and the delay (%v)", el, delay+50*time.Millisecond)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("bytes changed on the way")
	}
	start = time.Now()
	if _, err := b.Write([]byte("ack")); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 3)
	if _, err := io.ReadFull(d, ack); err != nil || string(ack) != "ack" {
		t.Fatalf("read %q, %v", ack, err)
	}
	if el := time.Since(start); el < delay {
		t.Fatalf("answer after %v, before the delay", el)
	}
}

// TestCloseSendsWhatWasWritten: Close delivers what was written before it,
// then the other end reads EOF; the end of the other side's stream also
// reaches Read after the delay.
func TestCloseSendsWhatWasWritten(t *testing.T) {
	a, b := pair(t)
	d := Wrap(a, Path{Delay: 20 * time.Millisecond})
	if _, err := d.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "bye" {
		t.Fatalf("read %q, %v", got, err)
	}
	if _, err := d.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}

	a2, b2 := pair(t)
	d2 := Wrap(a2, Path{Delay: 10 * time.Millisecond})
	defer d2.Close()
	b2.Close()
	if _, err := d2.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after the other end closed: no error")
	}
}

// TestReadDeadline: the read deadline is the Conn's own, as paho sets it
// around CONNECT.
func TestReadDeadline(t *testing.T) {
	a, _ := pair(t)
	d := Wrap(a, Path{Delay: time.Millisecond})
	defer d.Close()
	if err := d.SetDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want os.ErrDeadlineExceeded", err)
	}
	if err := d.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
}

// TestZeroPath: nothing to add gives the connection itself.
func TestZeroPath(t *testing.T) {
	a, _ := pair(t)
	if Wrap(a, Path{}) != a {
		t.Fatal("a zero path wrapped the connection")
	}
}
