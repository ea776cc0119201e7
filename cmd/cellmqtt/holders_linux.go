package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// portHolders returns the other processes that have the device at port
// open, found through the /proc/<pid>/fd links this user may read. Only a
// terminal or serial device has holders worth naming (everybody has
// /dev/null open), and a process that serves a pseudo-terminal (holds its
// master, as "cellmqtt sim --pty" does) is the modem, not a rival.
func portHolders(port string) []holder {
	target, err := filepath.EvalSymlinks(port)
	if err != nil {
		target = port
	}
	if !isTerminalDevice(target) {
		return nil
	}
	pts := ptsIndex(target)
	procs, err := os.ReadDir(filepath.Join(sysRoot, "proc"))
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []holder
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		fdDir := filepath.Join(sysRoot, "proc", p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		holds, serves := false, false
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			switch {
			case err != nil:
			case link == target:
				holds = true
			case pts >= 0 && (link == "/dev/ptmx" || link == "/dev/pts/ptmx"):
				serves = serves || masterOf(pid, fd.Name()) == pts
			}
		}
		if holds && !serves {
			out = append(out, holder{PID: pid, Command: procComm(pid)})
		}
	}
	return out
}

// isTerminalDevice reports whether path is a terminal or serial device:
// one of the tty class (/sys/class/tty/<name>), a pseudo-terminal (majors
// 136-143) or another character device of the tty class.
func isTerminalDevice(path string) bool {
	if _, err := os.Stat(filepath.Join(sysRoot, "sys/class/tty", filepath.Base(path))); err == nil {
		return true
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return false
	}
	major, minor := unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	if major >= 136 && major <= 143 {
		return true
	}
	class, err := os.Readlink(filepath.Join(sysRoot, "sys/dev/char", fmt.Sprintf("%d:%d", major, minor), "subsystem"))
	return err == nil && filepath.Base(class) == "tty"
}

// ptsIndex returns N for /dev/pts/N, or -1.
func ptsIndex(path string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(path, "/dev/pts/"))
	if err != nil || !strings.HasPrefix(path, "/dev/pts/") {
		return -1
	}
	return n
}

// masterOf returns the pseudo-terminal index whose master descriptor fd of
// pid is (the "tty-index" of /proc/<pid>/fdinfo/<fd>), or -1.
func masterOf(pid int, fd string) int {
	b, err := os.ReadFile(filepath.Join(sysRoot, "proc", strconv.Itoa(pid), "fdinfo", fd))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "tty-index:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return -1
}

// modemManagerPID returns the pid of a running ModemManager, or 0.
func modemManagerPID() int {
	procs, err := os.ReadDir(filepath.Join(sysRoot, "proc"))
	if err != nil {
		return 0
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err == nil && procComm(pid) == "ModemManager" {
			return pid
		}
	}
	return 0
}

// procComm is the command name of a process.
func procComm(pid int) string {
	b, err := os.ReadFile(filepath.Join(sysRoot, "proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// mmIgnored reports whether udev tells ModemManager to leave the tty alone
// (ID_MM_DEVICE_IGNORE or ID_MM_PORT_IGNORE in the udev database).
func mmIgnored(port string) bool {
	name := filepath.Base(port)
	if t, err := filepath.EvalSymlinks(port); err == nil {
		name = filepath.Base(t)
	}
	dev, err := os.ReadFile(filepath.Join(sysRoot, "sys/class/tty", name, "dev"))
	if err != nil {
		return false
	}
	db, err := os.ReadFile(filepath.Join(sysRoot, "run/udev/data", "c"+strings.TrimSpace(string(dev))))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(db), "\n") {
		if line == "E:ID_MM_DEVICE_IGNORE=1" || line == "E:ID_MM_PORT_IGNORE=1" {
			return true
		}
	}
	return false
}
