package cellmqtt

import (
	"errors"
	"fmt"
)

// Errors of the client, usable with errors.Is. Errors from the modem come
// wrapped: use errors.As with *atmodem.ResultError for the modem's result
// code, and errors.Is with the atmodem sentinels (atmodem.ErrConnectionLost,
// atmodem.ErrNoNetwork, atmodem.ErrKeepalive, atmodem.ErrModemReset,
// atmodem.ErrClosed, atmodem.ErrInvalidParameter ...) for the kind.
var (
	// ErrNotConnected: the call needs a connection (or a connection being
	// retried) and the client has none. Same meaning as paho's ErrNotConnected.
	ErrNotConnected = errors.New("cellmqtt: not connected")
	// ErrAlreadyConnected: Connect was called while connected or connecting.
	ErrAlreadyConnected = errors.New("cellmqtt: already connected or connecting")
	// ErrConnectTimeout: the connect sequence did not finish within the
	// ConnectTimeout.
	ErrConnectTimeout = errors.New("cellmqtt: connect timed out")
	// ErrNoBroker: Connect was called without a broker (see AddBroker).
	ErrNoBroker = errors.New("cellmqtt: no broker to connect to")
	// ErrBadBroker: a broker URL given to AddBroker cannot be used.
	ErrBadBroker = errors.New("cellmqtt: bad broker URL")
	// ErrNoTransport: no serial port, transport or modem was configured.
	ErrNoTransport = errors.New("cellmqtt: no modem: set a serial port, a transport or a modem")
	// ErrWillRetained: a will with retained=true was configured; the modem
	// has no will-retain flag, so the will cannot be sent as asked.
	ErrWillRetained = errors.New("cellmqtt: the modem cannot send a retained will (AT+CMQTTWILLTOPIC has no retain flag)")
	// ErrPayloadType: Publish was given a payload that is not a string,
	// []byte, bytes.Buffer or *bytes.Buffer.
	ErrPayloadType = errors.New("cellmqtt: unknown payload type (want string, []byte, bytes.Buffer or *bytes.Buffer)")
	// ErrQoS0Dropped: a QoS 0 message was published while the connection was
	// down and SetDropQoS0WhenOffline(true) is in effect. It wraps
	// ErrNotConnected.
	ErrQoS0Dropped = fmt.Errorf("%w: QoS 0 message dropped while offline", ErrNotConnected)
	// ErrDisconnected: the client was disconnected (Disconnect, or the
	// connection was lost without AutoReconnect) before the operation
	// finished. A queued message whose token fails with it stays in the
	// queue (a durable queue sends it on the next connection).
	ErrDisconnected = errors.New("cellmqtt: client disconnected before the operation finished")
	// ErrLiveness: the idle-link liveness check (SetLivenessInterval) found
	// the connection dead although the modem reported nothing.
	ErrLiveness = errors.New("cellmqtt: liveness check failed")
	// ErrModemGone: the modem's port closed (unplugged, EOF, the shared
	// Modem was closed) and the client cannot open it again: it was given
	// with SetTransport or SetModem. The client gives up: the
	// ConnectionLostHandler and the pending tokens get an error wrapping
	// this one and the cause (atmodem.ErrClosed). A client that opens the
	// port itself (SetSerialPort, SetOpenTransport) reopens it instead.
	ErrModemGone = errors.New("cellmqtt: the modem's port is gone and the client cannot reopen it")
	// ErrPoisonMessage: the connection was lost each time the message was
	// sent (three times in a row): the broker closes it for this message
	// (a topic it refuses, a size over its limit ...). Its token fails
	// with this error and the message leaves the queue, so those behind it
	// move on.
	ErrPoisonMessage = errors.New("cellmqtt: the connection was lost each time this message was sent")
	// ErrResumeSubsOff: Subscribe or Unsubscribe was called while the
	// connection is being re-established and ResumeSubs is off (paho's
	// behaviour).
	ErrResumeSubsOff = errors.New("cellmqtt: not currently connected and ResumeSubs not set")
)
