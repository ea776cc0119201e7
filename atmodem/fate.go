package atmodem

import (
	"errors"
	"fmt"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// This file is the one place that decides what a modem answer means for the
// request that got it: every result code of both manuals, every sentinel of
// this package. The client, compat, the gateway and the bridge ask FateOf
// (or errors.Is with the three fate sentinels) and keep no table of their
// own. docs/architecture.md ("How a modem answer becomes a message fate")
// tells the whole path.

// Fate is what a failed (or successful) request means for the message or
// connection it was about.
type Fate int

const (
	// FateDone: the modem confirmed the request (no error).
	FateDone Fate = iota
	// FateLinkDown: the connection to the broker, the MQTT service or the
	// modem itself is gone (a loss URC, a reboot, a closed port, results
	// such as 9 "network not opened" or 11 "no connection"). The request
	// did not complete; it can succeed after a reconnect. A message keeps
	// its place and is sent again (with DUP for QoS 1 and 2); a connect is
	// tried again later.
	FateLinkDown
	// FateUnknown: the answer does not say whether the request took effect
	// (no answer in time, busy after every retry, a bare ERROR, result 6
	// "message receive fail" or 17 "timeout"). A message is kept and sent
	// again with DUP; the link is checked first.
	FateUnknown
	// FateRefused: the modem or the broker refused the request itself
	// (bad input, a refused CONNACK, results such as 12 "invalid
	// parameter" or 24 "packet fail"). Sending it again cannot help: a
	// message's token fails with the error.
	FateRefused
)

// String names the fate.
func (f Fate) String() string {
	switch f {
	case FateDone:
		return "done"
	case FateLinkDown:
		return "link down"
	case FateUnknown:
		return "unknown"
	case FateRefused:
		return "refused"
	}
	return fmt.Sprintf("Fate(%d)", int(f))
}

// The fate sentinels. Every error of this package that has a fate matches
// exactly one of them with errors.Is: a *ResultError by its code and model,
// the other sentinels (ErrClosed, ErrConnectionLost ...) by what they mean.
var (
	// ErrLinkDown matches errors whose fate is FateLinkDown.
	ErrLinkDown = errors.New("atmodem: link down")
	// ErrFateUnknown matches errors whose fate is FateUnknown.
	ErrFateUnknown = errors.New("atmodem: outcome unknown")
	// ErrRefused matches errors whose fate is FateRefused.
	ErrRefused = errors.New("atmodem: refused")
)

// FateOf returns the fate of a request that ended with err: FateDone for
// nil, otherwise the fate of the first sentinel found in the order
// FateLinkDown, FateRefused, FateUnknown. An error this package did not
// classify (a context error of the caller, an error of another package) is
// FateUnknown: its effect on the modem is not known.
func FateOf(err error) Fate {
	switch {
	case err == nil:
		return FateDone
	case errors.Is(err, ErrLinkDown):
		return FateLinkDown
	case errors.Is(err, ErrRefused):
		return FateRefused
	}
	return FateUnknown
}

// fateSentinel returns the sentinel of f (nil for FateDone).
func fateSentinel(f Fate) error {
	switch f {
	case FateLinkDown:
		return ErrLinkDown
	case FateUnknown:
		return ErrFateUnknown
	case FateRefused:
		return ErrRefused
	}
	return nil
}

// ResultFate returns the fate of result code c of model m, from the result
// code tables of the manuals (A7600 chapter 2.2.1: 0-35; SIM7500/7600/7800
// chapter 2.3.1: 0-33). A code the model's manual does not define, and a
// model not yet known, give FateUnknown for 34 and 35 and for anything
// outside the table.
func ResultFate(m Model, c ResultCode) Fate {
	if c < 0 || int(c) >= len(codeFates) {
		return FateUnknown
	}
	if c >= simcom.CodeOpenSessionFailed && m != A7600 {
		return FateUnknown // 34 and 35 exist in the A7600 manual only
	}
	return codeFates[c]
}

// codeFates is the fate of each result code, indexed by code. The reasons:
//
//   - link down: the socket, the network or the client's connection is gone
//     or could not be made; after a reconnect the same request can work.
//     20 "client not acquired" means the modem forgot the client (a reboot
//     or a service stop whose URC was missed). 29 "server unavailable", 25
//     "DNS error" and 32 "handshake fail" can pass. 34 "open session
//     failed" is the A7600's immediate CONNECT failure without a network.
//   - unknown: the request may or may not have reached the broker. 6
//     "message receive fail" is a link dying under the request (a
//     +CMQTTCONNLOST follows at once, later or never: docs/architecture.md);
//     14 "client is busy" is what remains after the engine's own retries.
//   - refused: the request is bad for the modem or the broker, or the state
//     it needs is not there and retrying will not make it so.
var codeFates = [...]Fate{
	simcom.CodeOK:                    FateDone,
	simcom.CodeFailed:                FateUnknown,
	simcom.CodeBadUTF8:               FateRefused,
	simcom.CodeSockConnectFail:       FateLinkDown,
	simcom.CodeSockCreateFail:        FateLinkDown,
	simcom.CodeSockCloseFail:         FateLinkDown,
	simcom.CodeMessageReceiveFail:    FateUnknown,
	simcom.CodeNetworkOpenFail:       FateLinkDown,
	simcom.CodeNetworkCloseFail:      FateUnknown,
	simcom.CodeNetworkNotOpened:      FateLinkDown,
	simcom.CodeClientIndexError:      FateRefused,
	simcom.CodeNoConnection:          FateLinkDown,
	simcom.CodeInvalidParameter:      FateRefused,
	simcom.CodeNotSupported:          FateRefused,
	simcom.CodeClientBusy:            FateUnknown,
	simcom.CodeRequireConnectionFail: FateLinkDown,
	simcom.CodeSockSendingFail:       FateUnknown,
	simcom.CodeTimeout:               FateUnknown,
	simcom.CodeTopicEmpty:            FateRefused,
	simcom.CodeClientUsed:            FateRefused,
	simcom.CodeClientNotAcquired:     FateLinkDown,
	simcom.CodeClientNotReleased:     FateRefused,
	simcom.CodeLengthOutOfRange:      FateRefused,
	simcom.CodeNetworkOpened:         FateRefused,
	simcom.CodePacketFail:            FateRefused,
	simcom.CodeDNSError:              FateLinkDown,
	simcom.CodeSocketClosedByServer:  FateLinkDown,
	simcom.CodeRefusedProtocol:       FateRefused,
	simcom.CodeRefusedIdentifier:     FateRefused,
	simcom.CodeRefusedUnavailable:    FateLinkDown,
	simcom.CodeRefusedBadCredentials: FateRefused,
	simcom.CodeRefusedNotAuthorized:  FateRefused,
	simcom.CodeHandshakeFail:         FateLinkDown,
	simcom.CodeCertNotSet:            FateRefused,
	simcom.CodeOpenSessionFailed:     FateLinkDown,
	simcom.CodeDisconnectFailed:      FateUnknown,
}

// kindError is a sentinel of this package that carries a fate: errors.Is
// finds both the sentinel itself and its fate sentinel.
type kindError struct {
	msg  string
	fate error
}

func (e *kindError) Error() string { return e.msg }

// Unwrap returns the fate sentinel.
func (e *kindError) Unwrap() error { return e.fate }

// sentinel makes a sentinel error of fate f.
func sentinel(msg string, f Fate) error { return &kindError{msg: msg, fate: fateSentinel(f)} }
