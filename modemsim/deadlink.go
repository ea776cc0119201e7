package modemsim

import (
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// deadLink stands for a broker connection whose socket is gone while the
// firmware still holds the index as connected: after +CMQTTPING: i,err, or
// a request's result 6 whose +CMQTTCONNLOST is late or never comes.
// AT+CMQTTDISC? says connected (0), AT+CMQTTCONNECT answers 13 and
// AT+CMQTTREL 19, as for a live connection; a publish, subscribe or
// unsubscribe answers OK then result 11 (no connection: nothing reaches the
// broker); AT+CMQTTDISC frees the index with result 0 (the firmware drops
// its own state; there is no socket left to send DISCONNECT on).
type deadLink struct{}

func (deadLink) Publish(string, []byte, byte, bool, bool, time.Duration) simcom.ResultCode {
	return simcom.CodeNoConnection
}

func (deadLink) Subscribe([]string, []byte, time.Duration) simcom.ResultCode {
	return simcom.CodeNoConnection
}

func (deadLink) Unsubscribe([]string, time.Duration) simcom.ResultCode {
	return simcom.CodeNoConnection
}

func (deadLink) Disconnect(time.Duration) simcom.ResultCode { return simcom.CodeOK }
func (deadLink) Drop()                                      {}
func (deadLink) Connected() bool                            { return false }
