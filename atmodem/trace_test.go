package atmodem

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the reader and the test goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTraceRedactsPasswords(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	line := `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1,"user","pa55word"`
	m, _ := startModem(t, deliverBytes, []step{
		// Echo on: the password comes back from the modem too.
		{expect: line + "\r", reply: line + "\r\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n"},
		{expect: "AT+CMQTTTOPIC=0,3\r", reply: "\r\n>"},
		{expect: "a/b", reply: "\r\nOK\r\n"},
	}, WithLogger(logger))
	if _, err := m.exec(testCtx(t), request{line: line, final: "+CMQTTCONNECT", index: 0, redact: []string{"pa55word"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.exec(testCtx(t), request{line: "AT+CMQTTTOPIC=0,3", data: []byte("a/b"), index: 0}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "pa55word") {
		t.Errorf("trace leaks the password:\n%s", out)
	}
	for _, want := range []string{"at tx", "at rx", "***", "+CMQTTCONNECT: 0,0", "prompt", `a/b`} {
		if !strings.Contains(out, want) {
			t.Errorf("trace misses %q:\n%s", want, out)
		}
	}
}

func TestTraceOffByDefault(t *testing.T) {
	var tr tracer
	if tr.enabled(slog.LevelDebug) {
		t.Fatal("a tracer without logger is enabled")
	}
	tr.tx([]byte("AT\r"), nil) // must not panic
	tr.rxLine("OK", nil)
	tr.problem("x", nil)
}
