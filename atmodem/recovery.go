package atmodem

import (
	"context"
	"errors"
	"fmt"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// Recovery helpers. After a process restart the modem may still run the
// MQTT service and hold acquired clients. These helpers learn the modem's
// state by asking it (AT+CMQTTACCQ?, AT+CMQTTDISC?) and never use blind
// STOP/START sequences, which can reboot an A7672.

// EnsureService starts the MQTT service unless it already runs. The
// SIM7600 answers AT+CMQTTSTART with "+CMQTTSTART: 23" (network is opened)
// and the A7600 with a bare ERROR when it runs; a bare ERROR is confirmed by
// asking AT+CMQTTACCQ?, which fails when the service is stopped.
func (m *Modem) EnsureService(ctx context.Context) error {
	err := m.StartService(ctx)
	if err == nil {
		return nil
	}
	if code, ok := resultCodeOf(err); ok {
		if code == simcom.CodeNetworkOpened {
			return nil
		}
		return err
	}
	if !errors.Is(err, ErrCommandFailed) {
		return err
	}
	if _, qerr := m.Acquired(ctx); qerr != nil {
		return fmt.Errorf("%w (and AT+CMQTTACCQ? says the service is not running: %v)", err, qerr)
	}
	return nil
}

// EnsureAcquired acquires index for clientID and server type t. When the
// modem refuses because the index is in use, it asks AT+CMQTTACCQ?: held by
// the same client ID and server type is success (fresh is false: the index
// was already acquired, with whatever will it holds); held by another client
// ID or server type is released (after a disconnect when connected) and
// acquired again.
func (m *Modem) EnsureAcquired(ctx context.Context, index int, clientID string, t ServerType) (fresh bool, err error) {
	err = m.Acquire(ctx, index, clientID, t)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, ErrInvalidParameter) || !refused(err) {
		return false, err
	}
	clients, qerr := m.Acquired(ctx)
	if qerr != nil {
		return false, fmt.Errorf("%w (AT+CMQTTACCQ? failed too: %v)", err, qerr)
	}
	var held *AcquiredClient
	for i := range clients {
		if clients[i].Index == index && clients[i].ClientID != "" {
			held = &clients[i]
		}
	}
	if held == nil {
		return false, err
	}
	if held.ClientID == clientID && held.ServerType == t {
		return false, nil
	}
	if err := m.releaseConnected(ctx, index); err != nil {
		return false, err
	}
	if err := m.Acquire(ctx, index, clientID, t); err != nil {
		return false, err
	}
	return true, nil
}

// EnsureReleased releases index; an index that is not acquired (result 20)
// counts as released.
func (m *Modem) EnsureReleased(ctx context.Context, index int) error {
	err := m.Release(ctx, index)
	if code, ok := resultCodeOf(err); ok && code == simcom.CodeClientNotAcquired {
		return nil
	}
	return err
}

// releaseConnected releases index, disconnecting it first when the modem
// says it is connected.
func (m *Modem) releaseConnected(ctx context.Context, index int) error {
	states, err := m.ConnectionStates(ctx)
	if err != nil {
		return err
	}
	if states[index] {
		if err := m.DisconnectClient(ctx, index, 0); err != nil {
			return err
		}
	}
	return m.EnsureReleased(ctx, index)
}

// refused reports whether err is the modem refusing a command (ERROR or a
// result code), as opposed to a timeout, reset or closed transport.
func refused(err error) bool {
	if _, ok := resultCodeOf(err); ok {
		return true
	}
	return errors.Is(err, ErrCommandFailed)
}
