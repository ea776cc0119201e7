package atmodem

import (
	"errors"
	"fmt"
)

// ErrPortBusy: another program holds the serial port exclusively. See
// *PortBusyError.
var ErrPortBusy = errors.New("atmodem: serial port in use by another program")

// PortBusyError is a serial port another program holds (its advisory lock
// or its exclusive mode). errors.Is(err, ErrPortBusy) is true.
type PortBusyError struct {
	Port    string // the path given to Open
	PID     int    // the holder's process ID, 0 when the system does not say
	Command string // the holder's program name, "" when unknown
}

// Error names the port and, when known, the program holding it.
func (e *PortBusyError) Error() string {
	who := "another program"
	switch {
	case e.PID != 0 && e.Command != "":
		who = fmt.Sprintf("%s (pid %d)", e.Command, e.PID)
	case e.PID != 0:
		who = fmt.Sprintf("pid %d", e.PID)
	}
	return fmt.Sprintf("atmodem: serial port %s is in use by %s: two programs on one AT port take each other's answers; stop it first", e.Port, who)
}

// Is reports whether target is ErrPortBusy.
func (e *PortBusyError) Is(target error) bool { return target == ErrPortBusy }

// busyError describes port as held, naming the holder when it can be
// found: the lock holder's pid when known (lockPID), else the one other
// process that has the device open.
func busyError(port string, lockPID int) *PortBusyError {
	e := &PortBusyError{Port: port, PID: lockPID}
	if e.PID == 0 {
		e.PID = soleOpener(port)
	}
	if e.PID != 0 {
		e.Command = processName(e.PID)
	}
	return e
}
