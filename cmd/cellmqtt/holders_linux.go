package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// portHolders returns the other processes that have the tty open, found
// through the /proc/<pid>/fd links this user may read.
func portHolders(port string) []holder {
	target, err := filepath.EvalSymlinks(port)
	if err != nil {
		target = port
	}
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
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && link == target {
				out = append(out, holder{PID: pid, Command: procComm(pid)})
				break
			}
		}
	}
	return out
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
