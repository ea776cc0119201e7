package atmodem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"go.bug.st/serial"
)

// tcpScheme prefixes an AT port reached over TCP: a serial-to-TCP bridge
// (ser2net, "cellmqtt sim --listen", a gateway's console port).
const tcpScheme = "tcp://"

// dialTimeout bounds the TCP connect of Open to a tcp:// port.
const dialTimeout = 10 * time.Second

// Open opens the modem's AT port and starts the engine on it. port is a
// serial device (e.g. "/dev/ttyUSB2", "COM5"), opened with go.bug.st/serial
// at baud, 8 data bits, no parity, one stop bit, or "tcp://HOST:PORT" for
// an AT port bridged to TCP (baud is then not used). A serial device is
// taken exclusively, as OpenPort says: a second program gets an error
// naming the first.
func Open(port string, baud int, opts ...Option) (*Modem, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	rw, err := OpenPort(ctx, port, baud)
	if err != nil {
		return nil, err
	}
	return New(rw, opts...), nil
}

// OpenPort opens the byte stream to a modem's AT port without starting an
// engine on it (a raw console, a bridge). port and baud are as for Open;
// ctx bounds the TCP connect of a tcp:// port.
//
// A serial device is opened exclusively, as minicom and ModemManager do:
// the terminal is put in exclusive mode (TIOCEXCL, which refuses further
// opens by programs without privileges) and an advisory lock (flock) is
// taken, which every cellmqtt program respects, root or not. A port another
// program holds fails with a *PortBusyError (errors.Is ErrPortBusy) that
// names it when the system says who it is. Two programs on one AT port
// steal each other's answers, so there is no way to share one.
func OpenPort(ctx context.Context, port string, baud int) (io.ReadWriteCloser, error) {
	if port == "" {
		return nil, &ParamError{Param: "port", Model: AutoDetect, Reason: "empty serial port name"}
	}
	if addr, ok := strings.CutPrefix(port, tcpScheme); ok {
		return dialPort(ctx, addr)
	}
	if baud <= 0 {
		return nil, &ParamError{Param: "baud", Model: AutoDetect, Reason: fmt.Sprintf("baud rate %d is not positive", baud)}
	}
	lock, err := lockPort(port)
	if err != nil {
		return nil, err
	}
	p, err := serial.Open(port, &serial.Mode{
		BaudRate: baud,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		lock.release()
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortBusy {
			return nil, busyError(port, 0)
		}
		return nil, fmt.Errorf("atmodem: open serial port %s: %w", port, err)
	}
	return &lockedPort{Port: p, lock: lock}, nil
}

// dialPort connects to an AT port bridged to TCP at host:port.
func dialPort(ctx context.Context, addr string) (io.ReadWriteCloser, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil || host == "" || p == "" {
		return nil, &ParamError{Param: "port", Model: AutoDetect, Reason: fmt.Sprintf("%q: want tcp://HOST:PORT", tcpScheme+addr)}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("atmodem: connect to the AT port bridge %s: %w", addr, err)
	}
	return conn, nil
}

// lockedPort is a serial port with the advisory lock taken for it; Close
// closes the port, then gives the lock back.
type lockedPort struct {
	serial.Port
	lock *portLock
}

// Close closes the port and releases its lock.
func (p *lockedPort) Close() error {
	err := p.Port.Close()
	p.lock.release()
	return err
}
