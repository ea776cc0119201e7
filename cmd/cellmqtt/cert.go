package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

func init() {
	register(command{
		name:    "cert",
		summary: "manage certificates and keys on the modem (put, ls, rm)",
		run:     runCert,
	})
}

// runCert is "cellmqtt cert".
func runCert(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("cert", "cellmqtt cert put FILE [NAME] | ls | rm NAME... [flags]", `
Manages the certificate and key files on the modem that TLS connections use:
  put FILE [NAME]  upload FILE (PEM or DER, 1-10240 bytes) with AT+CCERTDOWN,
                   under NAME (5-128 bytes, ending in .pem or .der; default
                   the file's base name)
  ls               list the files (AT+CCERTLIST)
  rm NAME...       delete files (AT+CCERTDELE on the A7600, AT+CCERTDELETE on
                   the SIM7600)
Names on the modem are used with "--cafile modem:NAME" (and --cert, --key)
by pub and sub. Note: the emulator (--sim) keeps its files only while it runs.`)
	var mf modemFlags
	var timeout time.Duration
	fs.Seconds(&timeout, "timeout", "SECONDS", 30*time.Second, "Cert", "how long to wait for the modem")
	mf.register(fs, false)
	fs.example(
		"cellmqtt cert put --port /dev/ttyUSB2 ca.pem",
		"cellmqtt cert put --port auto client.crt dev1-cert.pem",
		"cellmqtt cert ls --port auto",
		"cellmqtt cert rm --port auto dev1-cert.pem",
	)
	pos, err := fs.parse(args, stdout, stderr)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) == 0 {
		return fs.usageError(stderr, "say put, ls or rm")
	}
	if err := mf.check(); err != nil {
		return fail(stderr, "cert", err)
	}
	var action func(context.Context, *atmodem.Modem) error
	switch verb, rest := pos[0], pos[1:]; verb {
	case "put":
		if len(rest) < 1 || len(rest) > 2 {
			return fs.usageError(stderr, "cert put FILE [NAME]")
		}
		data, err := os.ReadFile(rest[0])
		if err != nil {
			return fail(stderr, "cert", badInput("%w", err))
		}
		name := filepath.Base(rest[0])
		if len(rest) == 2 {
			name = rest[1]
		}
		action = func(ctx context.Context, m *atmodem.Modem) error {
			if err := m.CertDownload(ctx, name, data); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "uploaded %s (%d bytes)\n", name, len(data))
			return nil
		}
	case "ls":
		if len(rest) != 0 {
			return fs.usageError(stderr, "cert ls takes no arguments")
		}
		action = func(ctx context.Context, m *atmodem.Modem) error {
			names, err := m.CertList(ctx)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(stdout, n)
			}
			return nil
		}
	case "rm":
		if len(rest) == 0 {
			return fs.usageError(stderr, "cert rm NAME...")
		}
		action = func(ctx context.Context, m *atmodem.Modem) error {
			for _, n := range rest {
				if err := m.CertDelete(ctx, n); err != nil {
					return fmt.Errorf("deleting %s: %w", n, err)
				}
				fmt.Fprintf(stdout, "deleted %s\n", n)
			}
			return nil
		}
	default:
		return fs.usageError(stderr, "unknown action %q: say put, ls or rm", verb)
	}
	l, err := mf.open(ctx, stderr, false)
	if err != nil {
		return fail(stderr, "cert", err)
	}
	defer l.Close()
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := action(actx, l.Modem); err != nil {
		return fail(stderr, "cert", err)
	}
	return exitOK
}
