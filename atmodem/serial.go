package atmodem

import (
	"fmt"

	"go.bug.st/serial"
)

// Open opens the serial port (e.g. "/dev/ttyUSB2", "COM5") with
// go.bug.st/serial at baud, 8 data bits, no parity, one stop bit, and starts
// the engine on it.
func Open(port string, baud int, opts ...Option) (*Modem, error) {
	if port == "" {
		return nil, &ParamError{Param: "port", Model: AutoDetect, Reason: "empty serial port name"}
	}
	if baud <= 0 {
		return nil, &ParamError{Param: "baud", Model: AutoDetect, Reason: fmt.Sprintf("baud rate %d is not positive", baud)}
	}
	p, err := serial.Open(port, &serial.Mode{
		BaudRate: baud,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		return nil, fmt.Errorf("atmodem: open serial port %s: %w", port, err)
	}
	return New(p, opts...), nil
}
