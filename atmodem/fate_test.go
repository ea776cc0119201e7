package atmodem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

// TestResultFateTable pins the fate of every result code of both manuals,
// for both model families: the one table the client, compat and the
// gateway decide by. The expectations are written out here, not derived
// from the table under test.
func TestResultFateTable(t *testing.T) {
	const (
		L = FateLinkDown
		U = FateUnknown
		R = FateRefused
	)
	// want[code] = {A7600, SIM7600}
	want := [36][2]Fate{
		0:  {FateDone, FateDone}, // operation succeeded
		1:  {U, U},               // failed
		2:  {R, R},               // bad UTF-8 string
		3:  {L, L},               // sock connect fail
		4:  {L, L},               // sock create fail
		5:  {L, L},               // sock close fail
		6:  {U, U},               // message receive fail: the link dies under the request
		7:  {L, L},               // network open fail
		8:  {U, U},               // network close fail
		9:  {L, L},               // network not opened
		10: {R, R},               // client index error
		11: {L, L},               // no connection
		12: {R, R},               // invalid parameter
		13: {R, R},               // not supported operation
		14: {U, U},               // client is busy (after the engine's retries)
		15: {L, L},               // require connection fail
		16: {U, U},               // sock sending fail
		17: {U, U},               // timeout
		18: {R, R},               // topic is empty
		19: {R, R},               // client is used
		20: {L, L},               // client not acquired: the modem forgot the client
		21: {R, R},               // client not released
		22: {R, R},               // length out of range
		23: {R, R},               // network is opened
		24: {R, R},               // packet fail
		25: {L, L},               // DNS error
		26: {L, L},               // socket is closed by server
		27: {R, R},               // refused: unaccepted protocol version
		28: {R, R},               // refused: identifier rejected
		29: {L, L},               // refused: server unavailable (may pass)
		30: {R, R},               // refused: bad user name or password
		31: {R, R},               // refused: not authorized
		32: {L, L},               // handshake fail
		33: {R, R},               // not set certificate
		34: {L, U},               // open session failed: A7600 only
		35: {U, U},               // disconnect from server failed: A7600 only
	}
	for code, fates := range want {
		for i, model := range []Model{A7600, SIM7600} {
			name := fmt.Sprintf("%s/%d", model, code)
			t.Run(name, func(t *testing.T) {
				c := ResultCode(code)
				if got := ResultFate(model, c); got != fates[i] {
					t.Fatalf("ResultFate(%s, %d %q) = %s, want %s", model, code, c, got, fates[i])
				}
				if code == 0 {
					return
				}
				err := fmt.Errorf("session 0: publish: %w", &ResultError{Command: "AT+CMQTTPUB=0,1,60", Code: c, Model: model})
				if got := FateOf(err); got != fates[i] {
					t.Fatalf("FateOf(%v) = %s, want %s", err, got, fates[i])
				}
				matches := 0
				for _, s := range []error{ErrLinkDown, ErrFateUnknown, ErrRefused} {
					if errors.Is(err, s) {
						matches++
						if s != fateSentinel(fates[i]) {
							t.Errorf("errors.Is(%v, %v) is true; want only %v", err, s, fateSentinel(fates[i]))
						}
					}
				}
				if matches != 1 {
					t.Errorf("%v matches %d fate sentinels, want 1", err, matches)
				}
				if busy := errors.Is(err, ErrBusy); busy != (code == 14) {
					t.Errorf("errors.Is(%v, ErrBusy) = %v", err, busy)
				}
			})
		}
	}
}

// TestFateOfSentinels pins the fate of every other error the engine makes.
func TestFateOfSentinels(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Fate
	}{
		{"nil", nil, FateDone},
		{"timeout", fmt.Errorf("%w: AT+CMQTTPUB=0,1,60: no answer within 70s", ErrTimeout), FateUnknown},
		{"caller's context", fmt.Errorf("%w: AT+CSQ: %w", ErrTimeout, context.Canceled), FateUnknown},
		{"closed", fmt.Errorf("%w: %w", ErrClosed, io.EOF), FateLinkDown},
		{"reset", fmt.Errorf("%w: modem sent %q", ErrModemReset, "RDY"), FateLinkDown},
		{"busy after retries", fmt.Errorf("%w (after 5 attempts)", &ResultError{Code: CodeClientBusy, Model: A7600}), FateUnknown},
		{"bare ERROR", fmt.Errorf("%w: AT+CMQTTTOPIC=0,3: ERROR", ErrCommandFailed), FateUnknown},
		{"param", &ParamError{Param: "topic", Model: A7600, Reason: "length 0 out of range 1-1024 bytes"}, FateRefused},
		{"connection lost", fmt.Errorf("%w: client 0: cause 1", ErrConnectionLost), FateLinkDown},
		{"no network", ErrNoNetwork, FateLinkDown},
		{"keepalive", ErrKeepalive, FateLinkDown},
		{"unknown code", &ResultError{Code: 99, Model: A7600}, FateUnknown},
		{"model not known", &ResultError{Code: CodeOpenSessionFailed, Model: AutoDetect}, FateUnknown},
		{"another package's error", io.ErrUnexpectedEOF, FateUnknown},
		{"link down wins over refused", errors.Join(&ResultError{Code: CodeRefusedBadCredentials, Model: A7600}, ErrClosed), FateLinkDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FateOf(tt.err); got != tt.want {
				t.Fatalf("FateOf(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
	for _, s := range []error{ErrTimeout, ErrClosed, ErrModemReset, ErrBusy, ErrCommandFailed, ErrInvalidParameter,
		ErrConnectionLost, ErrNoNetwork, ErrKeepalive} {
		if !errors.Is(fmt.Errorf("wrapped: %w", s), s) {
			t.Errorf("errors.Is(wrapped %v, itself) is false", s)
		}
	}
}
