package atmodem

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
)

// receiveHeavyStream is a modem stream of n received messages with a
// 10240-byte binary payload in 1500-byte chunks, as real firmware sends.
func receiveHeavyStream(n int) []byte {
	payload := make([]byte, 10240)
	for i := range payload {
		payload[i] = byte(i * 13)
	}
	one := rxStream(0, "sensors/garage/temperature", payload, 1500)
	return bytes.Repeat([]byte(one), n)
}

// BenchmarkReaderThroughput measures the reader (framing, routing and
// message assembly) on a receive-heavy stream, read 4096 bytes at a time
// like the reader goroutine does.
func BenchmarkReaderThroughput(b *testing.B) {
	stream := receiveHeavyStream(8)
	m := &Modem{cfg: defaultConfig(), done: make(chan struct{})}
	msgs := 0
	m.cfg.onEvent = func(ev Event) {
		if ev.Kind == EventMessage {
			msgs++
		}
	}
	m.fr.init(m.promptWanted)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for p := stream; len(p) > 0; {
			k := min(4096, len(p))
			m.fr.feed(p[:k], m.handleFrame)
			p = p[k:]
		}
	}
	b.StopTimer()
	if msgs != 8*b.N {
		b.Fatalf("assembled %d messages, want %d", msgs, 8*b.N)
	}
}

// instantModem answers at once: "\r\n>" after a data command line ending in
// ",n\r", then "\r\nOK\r\n" once the n bytes arrived; AT+CMQTTPUB with OK
// and "+CMQTTPUB: 0,0". It is enough for TOPIC, PAYLOAD and PUB.
type instantModem struct {
	mu     sync.Mutex
	cond   *sync.Cond
	out    []byte
	need   int // data bytes still expected
	closed bool
}

func newInstantModem() *instantModem {
	im := &instantModem{}
	im.cond = sync.NewCond(&im.mu)
	return im
}

func (im *instantModem) Write(p []byte) (int, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.need > 0 {
		im.need -= len(p)
		if im.need <= 0 {
			im.out = append(im.out, "\r\nOK\r\n"...)
		}
	} else if bytes.HasPrefix(p, []byte("AT+CMQTTPUB=")) {
		im.out = append(im.out, "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n"...)
	} else if i := bytes.LastIndexByte(p, ','); i >= 0 && p[len(p)-1] == '\r' {
		n := 0
		for _, c := range p[i+1 : len(p)-1] {
			n = n*10 + int(c-'0')
		}
		im.need = n
		im.out = append(im.out, "\r\n>"...)
	}
	im.cond.Broadcast()
	return len(p), nil
}

func (im *instantModem) Read(p []byte) (int, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	for len(im.out) == 0 && !im.closed {
		im.cond.Wait()
	}
	if im.closed {
		return 0, io.ErrClosedPipe
	}
	n := copy(p, im.out)
	im.out = im.out[:copy(im.out, im.out[n:])]
	return n, nil
}

func (im *instantModem) Close() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.closed = true
	im.cond.Broadcast()
	return nil
}

// BenchmarkExecDataCommand measures one data command (line, prompt, 1024
// bytes of data, OK) against an instantly answering modem: allocations and
// CPU per exec.
func BenchmarkExecDataCommand(b *testing.B) {
	m := New(newInstantModem(), inStep())
	defer m.Close()
	data := bytes.Repeat([]byte("x"), 1024)
	req := request{line: "AT+CMQTTPAYLOAD=0,1024", data: data, index: 0}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := m.exec(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecPublishSequence measures the engine's part of one publish:
// AT+CMQTTTOPIC with a 20-byte topic, AT+CMQTTPAYLOAD with 256 bytes and
// AT+CMQTTPUB with its result after OK, against an instantly answering modem.
func BenchmarkExecPublishSequence(b *testing.B) {
	m := New(newInstantModem(), inStep())
	defer m.Close()
	topic := []byte("sensors/garage/temp0")
	payload := bytes.Repeat([]byte{0xa5}, 256)
	reqs := []request{
		{line: "AT+CMQTTTOPIC=0,20", data: topic, index: 0},
		{line: "AT+CMQTTPAYLOAD=0,256", data: payload, index: 0},
		{line: "AT+CMQTTPUB=0,1,60", final: "+CMQTTPUB", index: 0},
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, r := range reqs {
			if _, err := m.exec(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	}
}
