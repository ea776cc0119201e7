package atmodem

import "strings"

// isBootLine reports whether line announces that the modem (re)booted:
// "RDY", "*ATREADY: 1" or "QCRDY". Leading NUL bytes are already dropped by
// the framer. Every MQTT state in the modem is gone after one.
func isBootLine(line string) bool {
	return line == "RDY" || line == "QCRDY" || isReadyLine(line)
}

// isReadyLine reports whether line is "*ATREADY: ...", which the A7600
// prints last in its boot burst (RDY, +CPIN: READY, SMS DONE, PB DONE,
// *ATREADY: 1) and some firmware prints alone.
func isReadyLine(line string) bool {
	return strings.HasPrefix(line, "*ATREADY")
}

// isBootNoise reports whether line is one of the messages that follow a boot
// message ("+CPIN: READY", "SMS DONE", "PB DONE", "+CGEV: ..."). They carry
// nothing the engine needs. "+CPIN: READY" is also the answer to AT+CPIN?,
// so the caller only drops it when no AT+CPIN command is in flight.
func isBootNoise(line string) bool {
	return line == "+CPIN: READY" || line == "SMS DONE" || line == "PB DONE" ||
		strings.HasPrefix(line, "+CGEV:")
}
