package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// listOrNone joins names, or says there are none.
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "no files"
	}
	return strings.Join(names, ", ")
}

// checkCertFile checks an upload before anything is sent: a plain file
// name (the modem's file system has no folders: "../x.pem" and "a/b.pem"
// are refused) and content that is what the name says, PEM for .pem and
// DER (a certificate or a private key) for .der.
func checkCertFile(name string, data []byte) error {
	if strings.ContainsAny(name, "/\\") || strings.Contains(name, "..") {
		return badInput("name %q: a plain file name on the modem, without / \\ or ..", name)
	}
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".pem":
		if b, _ := pem.Decode(data); b == nil {
			return badInput("%s: not PEM (no -----BEGIN ...----- block); a DER file is uploaded under a .der name", name)
		}
	case ".der":
		if !isDER(data) {
			return badInput("%s: not a DER certificate or private key", name)
		}
	}
	return nil
}

// isDER reports whether data is a DER certificate or private key.
func isDER(data []byte) bool {
	if _, err := x509.ParseCertificate(data); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS8PrivateKey(data); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(data); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(data)
	return err == nil
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
		if err := checkCertFile(name, data); err != nil {
			return fail(stderr, "cert", err)
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
			if len(names) == 0 {
				fmt.Fprintln(stderr, "cellmqtt cert: the modem holds no certificate or key files")
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
			// The modem answers a bare ERROR for a missing file: ask first,
			// so the error can say what is wrong.
			names, err := m.CertList(ctx)
			if err != nil {
				return err
			}
			for _, n := range rest {
				if !slices.Contains(names, n) {
					return fmt.Errorf("deleting %s: no such file on the modem (it holds %s)", n, listOrNone(names))
				}
			}
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
