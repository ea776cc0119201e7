package modemsim_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestPTYUnplugSeenByHost: issue 13 point 3 ("on a pty it takes 2 min to
// notice"): when the emulator is unplugged, a host that opened its pty as
// a serial port reads the end of the port at once, as with a USB modem
// pulled out. The emulator's pty master was in blocking mode, so its
// descriptor stayed open behind a blocked read and the terminal end never
// hung up.
func TestPTYUnplugSeenByHost(t *testing.T) {
	sim, err := modemsim.New(modemsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	path, err := sim.OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	m, err := atmodem.Open(path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sim.Unplug()
	select {
	case <-m.Done():
		if !errors.Is(m.Err(), atmodem.ErrClosed) {
			t.Fatalf("engine ended with %v, want ErrClosed", m.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the host did not see the unplug within 10 s")
	}
}
