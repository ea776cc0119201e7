package modemsim

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/creack/pty"
)

// OpenPTY attaches a real pseudo-terminal as the AT port and returns the
// path of its terminal end (e.g. /dev/pts/7), which go.bug.st/serial, a
// terminal program (screen, minicom, picocom) or any driver opens like a
// serial port. The terminal starts in raw mode. It replaces the current
// host attachment; Unplug or Close closes the pty.
func (s *Sim) OpenPTY() (string, error) {
	if s.closed() {
		return "", errors.New("modemsim: OpenPTY on a closed emulator")
	}
	master, tty, err := pty.Open()
	if err != nil {
		return "", fmt.Errorf("modemsim: open pty: %w", err)
	}
	if err := makeRaw(tty); err != nil {
		master.Close()
		tty.Close()
		return "", fmt.Errorf("modemsim: pty raw mode: %w", err)
	}
	if master, err = pollable(master); err != nil {
		tty.Close()
		return "", fmt.Errorf("modemsim: pty: %w", err)
	}
	path := tty.Name()
	att := s.attach("pty")
	// The emulator keeps the terminal end open too, so the pty survives a
	// host that closes and reopens it (reading a master with no terminal
	// end open fails on Linux).
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-att.done
		master.Close()
		tty.Close()
	}()
	s.pump(att, master)
	s.log.Debug("modemsim: pty ready", "path", path)
	return path, nil
}

// pump copies between a host byte stream and the link until the stream
// ends or the attachment closes; either end detaches the other.
func (s *Sim) pump(att *attachment, rw io.ReadWriter) {
	s.wg.Add(2)
	go func() { // host -> modem
		defer s.wg.Done()
		defer s.detach(att)
		b := make([]byte, 1024)
		for {
			n, err := rw.Read(b)
			if n > 0 {
				if _, werr := s.fromHost.write(b[:n], att.done); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // modem -> host
		defer s.wg.Done()
		defer s.detach(att)
		b := make([]byte, 1024)
		for {
			n, err := s.toHost.read(b, att.done)
			if err != nil {
				return
			}
			if _, err := rw.Write(b[:n]); err != nil {
				return
			}
		}
	}()
}

// ListenTCP serves the AT port on a TCP address (e.g. "127.0.0.1:0"): each
// accepted connection is the host, one at a time; the next one is accepted
// when it ends. It returns the address listened on. Close stops it.
func (s *Sim) ListenTCP(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("modemsim: listen: %w", err)
	}
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		ln.Close()
		return nil, errors.New("modemsim: ListenTCP on a closed emulator")
	}
	s.listen = append(s.listen, ln)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.log.Debug("modemsim: TCP host connected", "remote", c.RemoteAddr())
			att := s.attach("tcp")
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				<-att.done
				c.Close()
			}()
			s.pump(att, c)
			<-att.done
		}
	}()
	return ln.Addr(), nil
}
