package atmodem

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// testCtx returns a context that ends with the test (and after 10 s at most).
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startModem starts the engine on a scripted modem and closes it after the
// test, checking the script.
func startModem(t *testing.T, mode delivery, steps []step, opts ...Option) (*Modem, *scriptModem) {
	t.Helper()
	sm := newScriptModem(t, mode, steps...)
	m := New(sm, opts...)
	t.Cleanup(func() {
		_ = m.Close()
		sm.verify(t)
	})
	return m, sm
}

func TestExecCompletion(t *testing.T) {
	pub := request{line: "AT+CMQTTPUB=0,1,60", final: "+CMQTTPUB", index: 0, timeout: 2 * time.Second}
	start := request{line: "AT+CMQTTSTART", final: "+CMQTTSTART", index: -1, timeout: 2 * time.Second}
	plain := request{line: "AT+CSQ", index: -1}
	tests := []struct {
		name      string
		req       request
		reply     string
		wantLines []string
		wantCode  ResultCode // of a *ResultError, -1: no ResultError
		wantIs    error      // sentinel the error wraps; nil: success
	}{
		{"OK", plain, "\r\n+CSQ: 23,0\r\n\r\nOK\r\n", []string{"+CSQ: 23,0"}, -1, nil},
		{"final after OK", pub, "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n", nil, -1, nil},
		{"final before OK", pub, "\r\n+CMQTTPUB: 0,0\r\n\r\nOK\r\n", nil, -1, nil},
		{"start OK then result", start, "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n", nil, -1, nil},
		{"start result then OK", start, "\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n", nil, -1, nil},
		{"failure after OK", pub, "\r\nOK\r\n\r\n+CMQTTPUB: 0,11\r\n", nil, 11, nil},
		{"failure then ERROR", request{line: "AT+CMQTTCONNECT=0,\"tcp://a.b.c:1883\",60,1", final: "+CMQTTCONNECT", index: 0},
			"\r\n+CMQTTCONNECT: 0,34\r\n\r\nERROR\r\n", nil, 34, nil},
		{"start already running", start, "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n", nil, 23, nil},
		{"own result then ERROR without final", request{line: "AT+CMQTTREL=0", index: 0},
			"\r\n+CMQTTREL: 0,20\r\n\r\nERROR\r\n", []string{"+CMQTTREL: 0,20"}, 20, nil},
		{"bare ERROR", pub, "\r\nERROR\r\n", nil, -1, ErrCommandFailed},
		{"CME ERROR", plain, "\r\n+CME ERROR: SIM not inserted\r\n", nil, -1, ErrCommandFailed},
		{"CMS ERROR", plain, "\r\n+CMS ERROR: 500\r\n", nil, -1, ErrCommandFailed},
		{"other index result ignored", pub, "\r\nOK\r\n\r\n+CMQTTPUB: 1,11\r\n\r\n+CMQTTPUB: 0,0\r\n", nil, -1, nil},
		{"stray result of another command ignored", plain, "\r\n+CMQTTSUB: 0,0\r\n+CSQ: 5,0\r\n\r\nOK\r\n", []string{"+CSQ: 5,0"}, -1, nil},
		{"URC between command and OK", plain, "\r\n+CSQ: 23,0\r\n\r\n+CMQTTCONNLOST: 0,1\r\n\r\nOK\r\n", []string{"+CSQ: 23,0"}, -1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, _ := startModem(t, mode, []step{{expect: tc.req.line + "\r", reply: tc.reply}})
				resp, err := m.exec(testCtx(t), tc.req)
				var re *ResultError
				switch {
				case tc.wantCode >= 0:
					if !errors.As(err, &re) || re.Code != tc.wantCode {
						t.Fatalf("err = %v, want ResultError %d", err, tc.wantCode)
					}
					if re.Command != tc.req.line {
						t.Errorf("ResultError.Command = %q, want %q", re.Command, tc.req.line)
					}
				case tc.wantIs != nil:
					if !errors.Is(err, tc.wantIs) || errors.As(err, &re) {
						t.Fatalf("err = %v, want %v", err, tc.wantIs)
					}
				case err != nil:
					t.Fatalf("err = %v", err)
				}
				if !slices.Equal(resp.lines, tc.wantLines) {
					t.Errorf("lines = %q, want %q", resp.lines, tc.wantLines)
				}
			})
		})
	}
}
