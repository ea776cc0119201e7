// Package atmodem is the AT engine for the MQTT client built into SIMCom
// cellular modems: the A7600 series (A7670, A7672, A7608 ...) and the
// SIM7500/SIM7600/SIM7800 series.
//
// # Layers
//
// A Modem owns one AT port (any io.ReadWriteCloser: a serial port opened with
// Open, a pty, a TCP bridge, or the emulator of package modemsim):
//
//   - reader.go frames the byte stream into lines, '>' data prompts (found
//     without waiting for a line end) and length-delimited data blocks
//     (+CMQTTRXTOPIC / +CMQTTRXPAYLOAD), binary-safe.
//   - executor.go keeps one command in flight, writes the data after the
//     prompt, and decides completion by the firmware's rules: OK, ERROR,
//     +CME ERROR, and "+CMQTT<CMD>: <idx>,<err>" before or after OK. Every
//     command has the maximum response time of the manuals.
//   - urc.go and rxmessage.go route unsolicited results by prefix and
//     client index: +CMQTTCONNLOST, +CMQTTNONET, +CMQTTPING, received
//     messages assembled from RXSTART..RXEND, and boot messages (RDY,
//     *ATREADY, QCRDY) that mean the modem rebooted.
//   - cmd_mqtt.go, cmd_ssl.go and cmd_network.go are typed methods for every
//     command of both manuals; validate.go checks every limit of the model
//     and every quoting rule before a byte is written.
//   - Session (session.go, connect.go, publish.go, events.go) drives one
//     client index: the connect sequence, publish, subscribe, unsubscribe,
//     disconnect, and one ordered stream of events. The paho-shaped client
//     (package cellmqtt) and the paho adapter (package compat) are both
//     built on it, so no package above assembles an AT command line.
//
// # Errors
//
// A non-zero MQTT result code is a *ResultError whose Code prints the
// manual's text (code 30: "connection refused: bad user name or password").
// Timeouts, a closed transport, a modem reset and a busy modem wrap the
// sentinels ErrTimeout, ErrClosed, ErrModemReset and ErrBusy; bad input is a
// *ParamError that wraps ErrInvalidParameter and names the parameter, the
// limit and the model.
//
// # Received messages
//
// The modem's RX URCs carry no QoS, retain or dup flag, so a Message has
// only the client index, the topic and the payload.
package atmodem
