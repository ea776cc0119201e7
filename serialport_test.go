package cellmqtt

import (
	"errors"
	"os"
	"path/filepath"
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

// TestIntegrationSerialPortReplug covers issue 13 point 3 for a client that
// opened the port itself: the USB modem is pulled (the pty hangs up) and
// plugged in again, re-enumerated under the same udev symlink; the client
// reopens the port and delivers what was published meanwhile.
func TestIntegrationSerialPortReplug(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	o := e.options("replug")
	o.Transport = nil // options attached an in-memory host; the pty replaces it
	path, err := e.sim.OpenPTY()
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	link := filepath.Join(t.TempDir(), "ttyCellModem") // a udev-style symlink
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	lost := make(lossRecorder, 4)
	o.SetSerialPort(link, 115200).SetConnectionLostHandler(lost.handler)
	p := e.peer("replug")
	c := e.connect(o)
	mustWait(t, "publish", c.Publish("replug", 1, false, "before"))

	e.sim.Unplug()
	if err := lost.next(t); !errors.Is(err, atmodem.ErrClosed) || errors.Is(err, ErrModemGone) {
		t.Fatalf("loss %v, want the closed port, not final", err)
	}
	tok := c.Publish("replug", 1, false, "while unplugged")
	newPath, err := e.sim.OpenPTY() // plugged in again, maybe under another name
	if err != nil {
		t.Fatal(err)
	}
	tmp := link + ".new"
	if err := os.Symlink(newPath, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	mustWait(t, "publish while unplugged", tok)
	p.waitAll(t, []string{"before", "while unplugged"})
}
