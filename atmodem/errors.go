package atmodem

import "errors"

// Sentinel errors, usable with errors.Is. Errors returned by this package
// wrap them with the command and the detail. Each one but ErrIndexInUse and
// ErrNoFreeIndex also matches the sentinel of its fate (fate.go): ErrLinkDown,
// ErrFateUnknown or ErrRefused, as its comment says.
var (
	// ErrTimeout: the modem did not finish a command within its timeout
	// (from the manuals) or the caller's context deadline. Fate: ErrFateUnknown.
	ErrTimeout = sentinel("atmodem: command timed out", FateUnknown)
	// ErrClosed: the transport is closed (Close was called, or the port
	// reported EOF or an error). Fate: ErrLinkDown.
	ErrClosed = sentinel("atmodem: transport closed", FateLinkDown)
	// ErrModemReset: the modem rebooted (RDY, *ATREADY, QCRDY ...); every MQTT
	// state in it is gone. Fate: ErrLinkDown.
	ErrModemReset = sentinel("atmodem: modem reset", FateLinkDown)
	// ErrBusy: the modem answered result 14 (client is busy) after every retry. Fate: ErrFateUnknown.
	ErrBusy = sentinel("atmodem: client is busy", FateUnknown)
	// ErrCommandFailed: the modem answered ERROR, +CME ERROR or +CMS ERROR
	// without an MQTT result code. Fate: ErrFateUnknown.
	ErrCommandFailed = sentinel("atmodem: command failed", FateUnknown)
	// ErrInvalidParameter: a parameter is out of the model's range or holds a
	// byte the modem would misread; nothing was written. See *ParamError. Fate: ErrRefused.
	ErrInvalidParameter = sentinel("atmodem: invalid parameter", FateRefused)
	// ErrConnectionLost: the modem reported +CMQTTCONNLOST. Fate: ErrLinkDown.
	ErrConnectionLost = sentinel("atmodem: connection lost", FateLinkDown)
	// ErrNoNetwork: the modem reported +CMQTTNONET. Fate: ErrLinkDown.
	ErrNoNetwork = sentinel("atmodem: no network", FateLinkDown)
	// ErrKeepalive: the modem reported +CMQTTPING (keepalive failed). Fate: ErrLinkDown.
	ErrKeepalive = sentinel("atmodem: keepalive failed", FateLinkDown)
	// ErrOutOfStep: the modem did not prove that it answers in step (a
	// marker command went unanswered: the port hangs, the modem boots or is
	// gone) before the caller's context ended; the command was not written.
	// Fate: ErrLinkDown.
	ErrOutOfStep = sentinel("atmodem: modem not answering in step", FateLinkDown)
	// ErrResultsUnmatched: the results of a client index can no longer be
	// matched to the commands that wait for them (a result did not come in
	// time, or an answer could be a command's own refusal or an earlier
	// command's result: the modem's results carry no packet identifier).
	// The request's fate is not known; the session makes the connection
	// again, with AT+CMQTTDISC first, before it sends anything more on the
	// index. Fate: ErrLinkDown.
	ErrResultsUnmatched = sentinel("atmodem: results of the client index can no longer be matched", FateLinkDown)
	// ErrPipelineRefused: the firmware refused a publish written while
	// results of its client index were pending (result 14, ERROR, or
	// another answer than the window expects). The modem sends one
	// publish at a time from then on (Session.SetMaxInflight); the message
	// was not confirmed and is to be sent again. Fate: ErrFateUnknown.
	ErrPipelineRefused = sentinel("atmodem: the firmware refused a publish while results were pending", FateUnknown)
	// ErrIndexInUse: the client index is held by another Session.
	ErrIndexInUse = errors.New("atmodem: client index in use")
	// ErrNoFreeIndex: every client index of the modem is held.
	ErrNoFreeIndex = errors.New("atmodem: no free client index")
)

// ParamError is a parameter that the modem would reject or misread, found
// before anything was written. errors.Is(err, ErrInvalidParameter) is true.
type ParamError struct {
	Param  string // the manual's name, e.g. "clientID", "topic", "pass_word"
	Model  Model  // the model whose limit applies
	Reason string // e.g. "length 130 out of range 1-128 bytes", `contains '"' (0x22)`
}

// Error names the parameter, the reason and the model.
func (e *ParamError) Error() string {
	return "atmodem: " + e.Param + ": " + e.Reason + " (" + e.Model.String() + ")"
}

// Unwrap returns ErrInvalidParameter.
func (e *ParamError) Unwrap() error { return ErrInvalidParameter }
