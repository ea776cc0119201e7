package main

import (
	"errors"
	"strings"

	"github.com/cellmqtt/cellmqtt/internal/listener"
)

// listenGroup is the help heading of the local listener flags.
const listenGroup = "Local listener (who may use the device's identity)"

// listenFlags are the flags of a local MQTT listener that "cellmqtt
// gateway" and "cellmqtt bridge" share: the address, TLS and the
// authentication of local clients (package internal/listener).
type listenFlags struct {
	cfg listener.Config
}

// register adds the listener flags to fs; def is the default address.
func (lf *listenFlags) register(fs *flagSet, def string) {
	c := &lf.cfg
	fs.String(&c.Addr, "l,listen", "ADDR", def, listenGroup, "local address to serve MQTT on (port 0 picks a free one); an address other than loopback needs authentication or TLS")
	fs.String(&c.PasswordFile, "password-file", "FILE", "", listenGroup, "authenticate local clients with a mosquitto password_file (hashed by mosquitto_passwd: $7$ or $6$)")
	fs.String(&c.Username, "local-user", "USER", "", listenGroup, "authenticate local clients with this user name (with --local-password)")
	fs.String(&c.Password, "local-password", "PASSWORD", "", listenGroup, "the password of --local-user")
	fs.String(&c.CertFile, "listen-cert", "FILE", "", listenGroup, "serve MQTT over TLS with this certificate (PEM; with --listen-key)")
	fs.String(&c.KeyFile, "listen-key", "FILE", "", listenGroup, "the private key of --listen-cert (PEM)")
	fs.Bool(&c.InsecureListen, "insecure-listen", listenGroup, "allow an address other than loopback with neither authentication nor TLS: anyone who reaches it acts as the device")
}

// check validates the listener flags before anything is opened; every
// problem is a usage error (exit 2) that names the flags.
func (lf *listenFlags) check() error {
	if err := lf.checkPairs(); err != nil {
		return err
	}
	err := insecureUsage(lf.cfg.Check(), lf.cfg.Addr, "")
	var usage usageErr
	if err != nil && !errors.As(err, &usage) {
		return badInput("--listen: %w", err)
	}
	return err
}

// checkPairs checks the flags that go in pairs.
func (lf *listenFlags) checkPairs() error {
	c := lf.cfg
	switch {
	case (c.Username == "") != (c.Password == ""):
		return badInput("--local-user and --local-password go together")
	case (c.CertFile == "") != (c.KeyFile == ""):
		return badInput("--listen-cert and --listen-key go together")
	}
	return nil
}

// given reports whether any listener flag other than --listen was given.
func (lf *listenFlags) given(set func(name string) bool) bool {
	for _, name := range []string{"password-file", "local-user", "local-password", "listen-cert", "listen-key", "insecure-listen"} {
		if set(name) {
			return true
		}
	}
	return false
}

// insecureUsage turns internal/listener's ErrInsecure (an address other
// machines reach, neither authenticated nor TLS) into a usage error that
// names the flags that would do; hint names other settings that would (a
// configuration file's keywords). Other errors are returned as they are.
func insecureUsage(err error, addr, hint string) error {
	if !errors.Is(err, listener.ErrInsecure) {
		return err
	}
	return badInput("--listen %s can be reached from other machines, and every local client acts with the device's identity at the broker: "+
		"give --password-file, --local-user/--local-password or --listen-cert/--listen-key%s, listen on 127.0.0.1, or accept it with --insecure-listen", addr, hint)
}

// authenticator reads the password file; nil when no credentials are
// configured. A password file that cannot be read or parsed is a usage
// error.
func (lf *listenFlags) authenticator() (*listener.Authenticator, error) {
	a, err := lf.cfg.Authenticator()
	if err != nil {
		return nil, usageErr{err}
	}
	return a, nil
}

// describe says how the listener is secured, for the start-up line.
func (lf *listenFlags) describe() string {
	return describeListener(lf.cfg.TLS(), lf.cfg.Authenticates())
}

// describeListener says how a listener is secured: " (TLS, authenticated
// clients)", or "" for a plain, open one.
func describeListener(tls, authenticates bool) string {
	var parts []string
	if tls {
		parts = append(parts, "TLS")
	}
	if authenticates {
		parts = append(parts, "authenticated clients")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
