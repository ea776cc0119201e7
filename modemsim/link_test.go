package modemsim

import (
	"bytes"
	"io"
	"strconv"
	"testing"
	"time"
)

// BenchmarkBaudModel measures the emulated line's throughput each way and
// reports it against the nominal rate of baud/10 bytes a second (10 bits a
// byte): the "%nominal" metric must stay within 95-105.
// Run with e.g. -benchtime=50x; every iteration moves 20 ms of line time.
func BenchmarkBaudModel(b *testing.B) {
	for _, baud := range []int{115200, 921600} {
		nominal := float64(baud) / bitsPerByte
		block := baud / bitsPerByte / 50
		b.Run("to-host/"+strconv.Itoa(baud), func(b *testing.B) {
			s, c := startBaudSim(b, baud)
			data := bytes.Repeat([]byte{'x'}, block)
			buf := make([]byte, block*b.N)
			b.SetBytes(int64(block))
			b.ResetTimer()
			start := time.Now()
			for range b.N { // the line stays busy: all blocks queue up
				s.Noise(data)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
			rate := float64(block*b.N) / time.Since(start).Seconds()
			b.ReportMetric(rate, "bytes/s")
			b.ReportMetric(100*rate/nominal, "%nominal")
		})
		b.Run("to-modem/"+strconv.Itoa(baud), func(b *testing.B) {
			_, c := startBaudSim(b, baud)
			// Lines without "AT" are ignored by the firmware: pure line load.
			line := append(bytes.Repeat([]byte{'x'}, block-1), '\r')
			b.SetBytes(int64(block))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := c.Write(line); err != nil {
					b.Fatal(err)
				}
			}
			rate := float64(block*b.N) / time.Since(start).Seconds()
			b.ReportMetric(rate, "bytes/s")
			b.ReportMetric(100*rate/nominal, "%nominal")
		})
	}
}

// startBaudSim starts an emulator with a line of baud and a host
// connection, both closed with the benchmark.
func startBaudSim(b *testing.B, baud int) (*Sim, io.ReadWriteCloser) {
	b.Helper()
	s, err := New(Config{Baud: baud, Echo: EchoOff})
	if err != nil {
		b.Fatal(err)
	}
	c := s.Conn()
	b.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return s, c
}

// TestPacerRate checks the pacer's bookkeeping without the clock: n bytes
// at a baud rate book n*10/baud seconds of line time.
func TestPacerRate(t *testing.T) {
	p := pacer{baud: 9600}
	start := time.Now()
	p.free = start.Add(time.Hour) // the line is busy: deadlines chain
	end := p.reserve(960, false)
	if got := end.Sub(start.Add(time.Hour)); got != time.Second {
		t.Errorf("960 bytes at 9600 baud booked %v, want 1s", got)
	}
	if c := (&pacer{baud: 115200}).chunk(); c != 11 {
		t.Errorf("chunk at 115200 = %d, want 11 (1 ms)", c)
	}
	if c := (&pacer{baud: 300}).chunk(); c != 1 {
		t.Errorf("chunk at 300 = %d, want 1", c)
	}
}

// TestTranscript records both directions in order and traces them.
func TestTranscript(t *testing.T) {
	var trace bytes.Buffer
	s, h := startSim(t, Config{Echo: EchoOff, Trace: &lockedWriter{w: &trace}})
	h.cmd("AT+CPIN?", "\r\n+CPIN: READY\r\n"+ok)
	h.quiet(s)
	if got := string(s.tr.bytesTo(ToModem)); got != "AT+CPIN?\r" {
		t.Errorf("to modem %q", got)
	}
	if got := string(s.tr.bytesTo(ToHost)); got != "\r\n+CPIN: READY\r\n"+ok {
		t.Errorf("to host %q", got)
	}
	entries := s.Transcript()
	if len(entries) < 2 || entries[0].Dir != ToModem || entries[len(entries)-1].Dir != ToHost {
		t.Errorf("transcript %+v", entries)
	}
	s.tr.mu.Lock()
	traced := trace.String()
	s.tr.mu.Unlock()
	if !bytes.Contains([]byte(traced), []byte(`> "AT+CPIN?\r"`)) || !bytes.Contains([]byte(traced), []byte(`< "\r\n+CPIN: READY\r\n`)) {
		t.Errorf("trace %q", traced)
	}
}

// lockedWriter is a trace writer; the transcript serialises its writes.
type lockedWriter struct{ w io.Writer }

func (l *lockedWriter) Write(b []byte) (int, error) { return l.w.Write(b) }
