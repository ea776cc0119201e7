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
	return m.ensureService(ctx, false)
}

// ensureService is EnsureService; with mustStart (the firmware stopped the
// service: +CMQTTNONET) only AT+CMQTTSTART's own answer counts, since
// AT+CMQTTACCQ? may still list the clients of the stopped service.
func (m *Modem) ensureService(ctx context.Context, mustStart bool) error {
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
	if mustStart || !errors.Is(err, ErrCommandFailed) {
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
	fresh, _, err = m.ensureAcquired(ctx, index, clientID, t, 0)
	return fresh, err
}

// ensureAcquired is EnsureAcquired with the protocol version in the 4th
// ACCQ field (0: none). A refusal while AT+CMQTTACCQ? shows the index free
// is the firmware refusing that field: the index is then acquired without
// it, and versionRefused says so.
func (m *Modem) ensureAcquired(ctx context.Context, index int, clientID string, t ServerType, version int) (fresh, versionRefused bool, err error) {
	for attempt := 0; ; attempt++ {
		err = m.acquire(ctx, index, clientID, t, version)
		if err == nil {
			return true, versionRefused, nil
		}
		if errors.Is(err, ErrInvalidParameter) || !refused(err) || attempt == 2 {
			return false, versionRefused, err
		}
		clients, qerr := m.Acquired(ctx)
		if qerr != nil {
			return false, versionRefused, fmt.Errorf("%w (AT+CMQTTACCQ? failed too: %v)", err, qerr)
		}
		var held *AcquiredClient
		for i := range clients {
			if clients[i].Index == index && clients[i].ClientID != "" {
				held = &clients[i]
			}
		}
		switch {
		case held == nil && version != 0:
			version, versionRefused = 0, true
			continue
		case held == nil:
			return false, versionRefused, err
		case held.ClientID == clientID && held.ServerType == t:
			return false, versionRefused, nil
		}
		if err := m.releaseConnected(ctx, index); err != nil {
			return false, versionRefused, err
		}
	}
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
	states, err := m.ConnectedIndexes(ctx)
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
