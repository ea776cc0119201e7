//go:build unix

package atmodem

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// portLock is the advisory lock of a serial device: an extra descriptor
// of the device with flock(LOCK_EX) on it. A nil *portLock holds nothing.
type portLock struct{ f *os.File }

// lockPort takes the advisory lock of the device at path. A device that
// cannot be opened for the lock is left to the real open to report (nil,
// nil). A lock another process holds is a *PortBusyError.
func lockPort(path string) (*portLock, error) {
	// O_NONBLOCK: a serial open may otherwise wait for carrier detect;
	// O_NOCTTY: never become the device's controlling process.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return &portLock{f: f}, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		pid := lockHolder(f)
		f.Close()
		return nil, busyError(path, pid)
	default: // a file system without flock: the exclusive mode still applies
		f.Close()
		return nil, nil
	}
}

// release gives the lock back.
func (l *portLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// lockHolder returns the pid of the process holding a flock on the file
// f is open on, from /proc/locks (Linux), or 0.
func lockHolder(f *os.File) int {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0
	}
	lf, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer lf.Close()
	// "1: FLOCK  ADVISORY  WRITE 4242 00:05:90 0 EOF": the device is the
	// file system's major:minor in hex, then the inode.
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	sc := bufio.NewScanner(lf)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 6 && f[1] == "FLOCK" && f[5] == want {
			if pid, err := strconv.Atoi(f[4]); err == nil {
				return pid
			}
		}
	}
	return 0
}

// soleOpener returns the pid of the one other process that has the device
// at path open (from /proc/<pid>/fd, Linux), or 0 when there is none, more
// than one, or the system does not say.
func soleOpener(path string) int {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return 0
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	found := 0
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		dir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && link == target {
				if found != 0 && found != pid {
					return 0
				}
				found = pid
				break
			}
		}
	}
	return found
}

// processName is the program name of pid (/proc/<pid>/comm), or "".
func processName(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
