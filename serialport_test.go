package cellmqtt

import (
	"errors"
	"os"
	"testing"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestIntegrationSerialPortTCP: SetSerialPort takes the tcp://HOST:PORT
// addresses the CLI's --port and "cellmqtt sim --listen" use.
func TestIntegrationSerialPortTCP(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	o := e.options("tcp-port")
	o.Transport = nil // options attached an in-memory host; TCP replaces it
	addr, err := e.sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.SetSerialPort("tcp://"+addr.String(), 0)
	p := e.peer("tcp-port")
	c := e.connect(o)
	mustWait(t, "publish", c.Publish("tcp-port", 1, false, "over a TCP bridge"))
	p.waitAll(t, []string{"over a TCP bridge"})
}

// TestIntegrationSerialPortExclusive: a second client on the serial port a
// first client holds fails to connect with atmodem.ErrPortBusy naming the
// holder, instead of the two stealing each other's answers.
func TestIntegrationSerialPortExclusive(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	// options attach an in-memory host each; the pty, attached last,
	// replaces them.
	first, second := e.options("first"), e.options("second")
	first.Transport, second.Transport = nil, nil
	path, err := e.sim.OpenPTY()
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	first.SetSerialPort(path, 115200)
	e.connect(first)

	second.SetSerialPort(path, 115200)
	c := NewClient(second)
	err = wait(t, c.Connect())
	c.Disconnect(0)
	var busy *atmodem.PortBusyError
	if !errors.Is(err, atmodem.ErrPortBusy) || !errors.As(err, &busy) || busy.PID != os.Getpid() {
		t.Fatalf("second client: err = %v, want atmodem.ErrPortBusy naming this process", err)
	}
}
