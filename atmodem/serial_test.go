//go:build unix

package atmodem

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/cellmqtt/cellmqtt/modemsim"
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
			{"ATE0\r", "\r\nOK\r\n"}, // echo off once in step
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

// TestOpenExclusive opens one pty twice: the second open fails with a
// *PortBusyError naming the holder (this process), and once the first is
// closed the port opens again.
func TestOpenExclusive(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	link := filepath.Join(t.TempDir(), "modem") // a udev-style symlink
	if err := os.Symlink(tty.Name(), link); err != nil {
		t.Fatal(err)
	}
	first, err := OpenPort(testCtx(t), tty.Name(), 115200)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{tty.Name(), link} {
		_, err = OpenPort(testCtx(t), path, 115200)
		var busy *PortBusyError
		if !errors.As(err, &busy) || !errors.Is(err, ErrPortBusy) {
			t.Fatalf("second open of %s: err = %v, want a *PortBusyError", path, err)
		}
		if busy.PID != os.Getpid() || busy.Command != processName(os.Getpid()) || busy.Command == "" {
			t.Errorf("holder %d %q, want this process %d %q", busy.PID, busy.Command, os.Getpid(), processName(os.Getpid()))
		}
		want := fmt.Sprintf("serial port %s is in use by %s (pid %d)", path, busy.Command, os.Getpid())
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := Open(tty.Name(), 115200); !errors.Is(err, ErrPortBusy) {
		t.Errorf("Open while held: err = %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenPort(testCtx(t), link, 115200)
	if err != nil {
		t.Fatalf("open after the holder closed: %v", err)
	}
	again.Close()
}

// TestOpenLockedByOther: a port another program locked with flock (as
// ModemManager and minicom lock) is refused, naming it.
func TestOpenLockedByOther(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	other, err := os.OpenFile(tty.Name(), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	_, err = OpenPort(testCtx(t), tty.Name(), 115200)
	var busy *PortBusyError
	if !errors.As(err, &busy) || busy.PID != os.Getpid() {
		t.Fatalf("err = %v, want the flock holder named", err)
	}
	unix.Flock(int(other.Fd()), unix.LOCK_UN)
	p, err := OpenPort(testCtx(t), tty.Name(), 115200)
	if err != nil {
		t.Fatalf("open after the lock was given back: %v", err)
	}
	p.Close()
}

// TestOpenTCP: a tcp://HOST:PORT port is an AT port bridged to TCP, here
// the emulator's (as "cellmqtt sim --listen" serves it).
func TestOpenTCP(t *testing.T) {
	sim, err := modemsim.New(modemsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	addr, err := sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Open("tcp://"+addr.String(), 0)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := m.Command(testCtx(t), "AT+CGMM")
	m.Close()
	if err != nil || len(lines) != 1 || lines[0] != "A7670E-LASE" {
		t.Fatalf("lines %q, err %v", lines, err)
	}
	for _, bad := range []string{"tcp://", "tcp://nohostport", "tcp://:7600"} {
		if _, err := Open(bad, 0); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("Open(%q): err = %v, want ErrInvalidParameter", bad, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if _, err := Open("tcp://"+closed, 0); err == nil || !strings.Contains(err.Error(), "AT port bridge") {
		t.Errorf("closed port: err = %v", err)
	}
}
