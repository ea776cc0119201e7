package atmodem

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/creack/pty"
)

func TestOpenSerialPTY(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	name := tty.Name()
	// Keep tty open until the engine opened it, so the pty stays alive.
	m, err := Open(name, 115200)
	tty.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	modemDone := make(chan error, 1)
	go func() {
		r := bufio.NewReader(master)
		for _, ex := range []struct{ line, answer string }{
			{"AT+CSQ\r", "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"}, // the engine's markers (step.go)
			{"AT+CMEE?\r", "\r\n+CMEE: 0\r\n\r\nOK\r\n"},
			{"AT+CGMM\r", "\r\nSIMCOM_A7670E\r\n\r\nOK\r\n"},
		} {
			line, err := r.ReadString('\r')
			if err != nil {
				modemDone <- err
				return
			}
			if line != ex.line {
				modemDone <- errors.New("modem read " + line)
				return
			}
			if _, err = master.Write([]byte(ex.answer)); err != nil {
				modemDone <- err
				return
			}
		}
		modemDone <- nil
	}()
	lines, err := m.Command(testCtx(t), "AT+CGMM")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "SIMCOM_A7670E" {
		t.Errorf("lines %q", lines)
	}
	if err := <-modemDone; err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("", 115200); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("empty port: err = %v", err)
	}
	if _, err := Open("/dev/ttyS0", 0); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("baud 0: err = %v", err)
	}
	missing := filepath.Join(t.TempDir(), "no-such-port")
	if _, err := Open(missing, 115200); err == nil {
		t.Error("missing port opened")
	} else if _, statErr := os.Stat(missing); statErr == nil {
		t.Error("Open created the port file")
	}
}
