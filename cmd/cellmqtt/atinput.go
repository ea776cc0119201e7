package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// consoleInput is where the AT console reads lines: a terminal with line
// editing and history (golang.org/x/term), or a plain stream (a pipe, a
// file, a script).
type consoleInput interface {
	// lines starts reading and returns the events; the channel closes at
	// the end of input.
	lines() <-chan inputEvent
	// writer is where output goes so that it does not garble the line
	// being edited, or nil to use stdout and stderr.
	writer() io.Writer
	// close ends reading and restores the terminal.
	close()
}

// newConsoleInput returns the terminal input when stdin and stdout are a
// terminal, else plain lines.
func newConsoleInput(stdin io.Reader, stdout io.Writer) consoleInput {
	fin, ok1 := stdin.(*os.File)
	fout, ok2 := stdout.(*os.File)
	if ok1 && ok2 && term.IsTerminal(int(fin.Fd())) && term.IsTerminal(int(fout.Fd())) {
		if t, err := newTermInput(fin, fout); err == nil {
			return t
		}
	}
	return &plainInput{r: stdin, quit: make(chan struct{})}
}

// plainInput reads lines from a stream.
type plainInput struct {
	r    io.Reader
	quit chan struct{}
	once sync.Once
}

func (p *plainInput) lines() <-chan inputEvent {
	ch := make(chan inputEvent)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(p.r)
		for sc.Scan() {
			select {
			case ch <- inputEvent{line: sc.Text()}:
			case <-p.quit:
				return
			}
		}
	}()
	return ch
}

func (p *plainInput) writer() io.Writer { return nil }
func (p *plainInput) close()            { p.once.Do(func() { close(p.quit) }) }

// termInput is a terminal in raw mode with x/term's line editor: arrow
// keys move and recall history, Ctrl-C and ESC are cancel keys.
type termInput struct {
	f     *os.File
	state *term.State
	t     *term.Terminal
	quit  chan struct{}
	once  sync.Once
}

// newTermInput puts the terminal in raw mode.
func newTermInput(in, out *os.File) (*termInput, error) {
	st, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, err
	}
	t := &termInput{f: in, state: st, quit: make(chan struct{})}
	t.t = term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{&keyReader{r: in}, out}, "")
	if w, h, err := term.GetSize(int(out.Fd())); err == nil && w > 0 {
		t.t.SetSize(w, h)
	}
	return t, nil
}

func (t *termInput) lines() <-chan inputEvent {
	ch := make(chan inputEvent)
	go func() {
		defer close(ch)
		for {
			line, err := t.t.ReadLine()
			var ev inputEvent
			switch {
			case errors.Is(err, errInterrupt):
				ev = inputEvent{cancel: true, interrupt: true}
			case errors.Is(err, errEscape):
				ev = inputEvent{cancel: true}
			case errors.Is(err, term.ErrPasteIndicator), err == nil:
				ev = inputEvent{line: line}
			default: // Ctrl-D on an empty line (io.EOF), or the terminal failed
				return
			}
			select {
			case ch <- ev:
			case <-t.quit:
				return
			}
		}
	}()
	return ch
}

func (t *termInput) writer() io.Writer { return t.t }

func (t *termInput) close() {
	t.once.Do(func() {
		close(t.quit)
		term.Restore(int(t.f.Fd()), t.state)
	})
}

// keyReader reads keys for the line editor and turns the cancel keys into
// errors: Ctrl-C (which raw mode no longer makes a signal) and a lone ESC
// (an escape sequence such as an arrow key arrives in one read). After a
// cancel the half-typed line is erased (End, Ctrl-U).
type keyReader struct {
	r       io.Reader
	pending []byte
}

// Read returns keys, or errInterrupt / errEscape.
func (k *keyReader) Read(p []byte) (int, error) {
	if len(k.pending) > 0 {
		n := copy(p, k.pending)
		k.pending = k.pending[n:]
		return n, nil
	}
	n, err := k.r.Read(p)
	if i := bytes.IndexByte(p[:n], 3); i >= 0 {
		k.pending = []byte{5, 21}
		return 0, errInterrupt
	}
	if n == 1 && p[0] == 0x1b {
		k.pending = []byte{5, 21}
		return 0, errEscape
	}
	return n, err
}
