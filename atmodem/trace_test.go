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
	tr.rxLine("OK")
	tr.problem("x", nil)
}

// TestTraceRedactsLateEcho reproduces issue 13 point 6: the modem's late
// echo of the CONNECT line arrives while other commands run (or none does)
// and was logged in full at DEBUG and as a WARN "unsolicited line dropped"
// that an Info-level logger shows. Every secret the engine ever wrote is
// hidden wherever it shows up, and a CONNECT line the engine never wrote
// (a previous program's) has its password field hidden too.
func TestTraceRedactsLateEcho(t *testing.T) {
	const secret = "s3cr3t-pw"
	line := `AT+CMQTTCONNECT=0,"tcp://a.b.c:1883",60,1,"user","` + secret + `"`
	foreign := `AT+CMQTTCONNECT=1,"tcp://x.y:1883",60,1,"other","hunter2"`
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			var buf syncBuffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
			m, _ := startModem(t, deliverWhole, []step{
				{expect: line + "\r", reply: "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n"},
				// The echo comes late: during the next command, then once
				// more with nothing in flight, then a stranger's line.
				{expect: "AT+CSQ\r", reply: line + "\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"},
				{reply: line + "\r\n" + foreign + "\r\n" + `+CMQTTCONNECT: 0,"` + secret + `"` + "\r\n"},
				{expect: "AT\r", reply: "\r\nOK\r\n"},
			}, WithLogger(logger))
			if _, err := m.exec(testCtx(t), request{line: line, final: "+CMQTTCONNECT", index: 0, redact: []string{secret}}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.exec(testCtx(t), request{line: "AT+CSQ", index: -1}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.exec(testCtx(t), request{line: "AT", index: -1}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, leak := range []string{secret, "hunter2"} {
				if strings.Contains(out, leak) {
					t.Errorf("log at %v leaks %q:\n%s", level, leak, out)
				}
			}
			if level == slog.LevelDebug && !strings.Contains(out, `***`) {
				t.Errorf("trace does not show the redacted line:\n%s", out)
			}
		})
	}
}

func TestRedactConnectLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{`AT+CMQTTCONNECT=0,"tcp://h:1883",60,1,"u","p,w\"x"`, `AT+CMQTTCONNECT=0,"tcp://h:1883",60,1,"u","***"`},
		{`at+cmqttconnect=0,"tcp://h:1883",60,1,"u","pw"`, `at+cmqttconnect=0,"tcp://h:1883",60,1,"u","***"`},
		{`AT+CMQTTCONNECT=0,"tcp://h:1883",60,1`, `AT+CMQTTCONNECT=0,"tcp://h:1883",60,1`},
		{`AT+CMQTTCONNECT=0,"tcp://h:1883",60,1,"u"`, `AT+CMQTTCONNECT=0,"tcp://h:1883",60,1,"u"`},
		{"x AT+CMQTTCONNECT=0,\"a\",60,1,\"u\",\"pw\"\r\nAT+CMQTTCONNECT=1,\"a\",60,1,\"u\",\"pw2\"", "x AT+CMQTTCONNECT=0,\"a\",60,1,\"u\",\"***\"\r\nAT+CMQTTCONNECT=1,\"a\",60,1,\"u\",\"***\""},
		{`+CMQTTCONNECT: 0,0`, `+CMQTTCONNECT: 0,0`},
	}
	for _, tt := range tests {
		if got := redactConnectLine(tt.in); got != tt.want {
			t.Errorf("redactConnectLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
