package compat

import (
	"errors"
	"fmt"

	"github.com/cellmqtt/cellmqtt/atmodem"
	packets5 "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// connectInfo is what Serve needs of a CONNECT before it takes a client
// index: the protocol level, the client ID and the credentials.
type connectInfo struct {
	level    byte
	clientID string
	username string
	password []byte
}

// errUnsupportedLevel: a CONNECT with a protocol level other than 3, 4 or
// 5; it is answered in 3.1.1 with return code 1.
var errUnsupportedLevel = errors.New("compat: unsupported MQTT protocol level")

// parseConnect decodes a CONNECT frame with the packet library of its
// protocol level.
func parseConnect(frame []byte) (connectInfo, error) {
	if packetType(frame) != 1 {
		return connectInfo{}, fmt.Errorf("compat: first packet is type %d, not CONNECT: %w", packetType(frame), errMalformed)
	}
	level, err := connectLevel(frame)
	if err != nil {
		return connectInfo{}, err
	}
	info := connectInfo{level: level}
	switch level {
	case 3, 4:
		p, err := decode311(frame)
		if err != nil {
			return info, err
		}
		c, ok := p.(*packets.ConnectPacket)
		if !ok {
			return info, fmt.Errorf("compat: first packet is not CONNECT: %w", errMalformed)
		}
		info.clientID = c.ClientIdentifier
		if c.UsernameFlag {
			info.username = c.Username
		}
		if c.PasswordFlag {
			info.password = c.Password
		}
	case 5:
		cp, err := decode5(frame)
		if err != nil {
			return info, err
		}
		c, ok := cp.Content.(*packets5.Connect)
		if !ok {
			return info, fmt.Errorf("compat: first packet is not CONNECT: %w", errMalformed)
		}
		info.clientID = c.ClientID
		if c.UsernameFlag {
			info.username = c.Username
		}
		if c.PasswordFlag {
			info.password = c.Password
		}
	default:
		return info, fmt.Errorf("%w %d", errUnsupportedLevel, level)
	}
	return info, nil
}

// authenticate checks the credentials of a CONNECT with the Authenticator
// of WithAuthenticator, and returns the CONNACK codes of a refusal: no user
// name is "not authorized" (3.1.1 return code 5, MQTT 5 0x87), a refused
// one "bad user name or password" (4, 0x86).
func (c config) authenticate(username string, password []byte) (rc311, rc5 byte, err error) {
	if c.auth == nil {
		return 0, 0, nil
	}
	err = c.auth.Authenticate(username, password)
	switch {
	case err == nil:
		return 0, 0, nil
	case username == "":
		return 5, 0x87, fmt.Errorf("compat: client without credentials refused: %w (%w)", err, atmodem.ErrInvalidParameter)
	}
	return 4, 0x86, fmt.Errorf("compat: client %q refused: %w (%w)", username, err, atmodem.ErrInvalidParameter)
}

// refuseConnect answers a CONNECT in its protocol version with a refusal
// (3.1.1 return code rc311, MQTT 5 reason rc5 with why as reason string).
func refuseConnect(w interface{ Write([]byte) (int, error) }, level, rc311, rc5 byte, why error) {
	if level == 5 {
		_, _ = w.Write(connack5(rc5, &packets5.Properties{ReasonString: why.Error()}))
		return
	}
	_, _ = w.Write(connack311(rc311))
}
