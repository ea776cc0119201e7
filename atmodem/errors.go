package atmodem

import "errors"

// Sentinel errors, usable with errors.Is. Errors returned by this package
// wrap them with the command and the detail.
var (
	// ErrTimeout: the modem did not finish a command within its timeout
	// (from the manuals) or the caller's context deadline.
	ErrTimeout = errors.New("atmodem: command timed out")
	// ErrClosed: the transport is closed (Close was called, or the port
	// reported EOF or an error).
	ErrClosed = errors.New("atmodem: transport closed")
	// ErrModemReset: the modem rebooted (RDY, *ATREADY, QCRDY ...); every MQTT
	// state in it is gone.
	ErrModemReset = errors.New("atmodem: modem reset")
	// ErrBusy: the modem answered result 14 (client is busy) after every retry.
	ErrBusy = errors.New("atmodem: client is busy")
	// ErrCommandFailed: the modem answered ERROR, +CME ERROR or +CMS ERROR
	// without an MQTT result code.
	ErrCommandFailed = errors.New("atmodem: command failed")
	// ErrInvalidParameter: a parameter is out of the model's range or holds a
	// byte the modem would misread; nothing was written. See *ParamError.
	ErrInvalidParameter = errors.New("atmodem: invalid parameter")
	// ErrConnectionLost: the modem reported +CMQTTCONNLOST.
	ErrConnectionLost = errors.New("atmodem: connection lost")
	// ErrNoNetwork: the modem reported +CMQTTNONET.
	ErrNoNetwork = errors.New("atmodem: no network")
	// ErrKeepalive: the modem reported +CMQTTPING (keepalive failed).
	ErrKeepalive = errors.New("atmodem: keepalive failed")
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
