package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/creack/pty"
)

// TestPortHolders: a process holding a pseudo-terminal as its terminal is
// named; the process serving it (holding its master, as an emulator does)
// is not; /dev/null, which every process holds, names nobody.
func TestPortHolders(t *testing.T) {
	if h := portHolders("/dev/null"); len(h) != 0 {
		t.Errorf("/dev/null holders: %v", h)
	}
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	start := func(c *exec.Cmd) *exec.Cmd {
		t.Helper()
		if err := c.Start(); err != nil {
			t.Skipf("cannot start %s: %v", c.Path, err)
		}
		t.Cleanup(func() {
			c.Process.Kill()
			c.Wait()
		})
		return c
	}
	user := exec.Command("sleep", "60")
	user.Stdin = tty
	start(user)
	server := exec.Command("sleep", "60")
	server.ExtraFiles = []*os.File{master, tty}
	start(server)

	got := portHolders(tty.Name())
	if len(got) != 1 || got[0].PID != user.Process.Pid || got[0].Command != "sleep" {
		t.Fatalf("holders of %s: %+v, want only the terminal user pid %d (not the server pid %d)", tty.Name(), got, user.Process.Pid, server.Process.Pid)
	}
}
