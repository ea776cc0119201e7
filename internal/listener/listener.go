// Package listener is the local MQTT listener that "cellmqtt gateway" and
// "cellmqtt bridge" put in front of the modem: a TCP address, optional TLS
// from a certificate and key file, and optional authentication of local
// clients by user name and password (a mosquitto password_file, or one
// plain user and password).
//
// Every local client acts with the device's identity at the broker (its
// client certificate, its network), so a listener that other machines can
// reach must authenticate them or encrypt: Config.Check refuses an address
// other than loopback without credentials or TLS unless InsecureListen is
// set.
//
// Typical use:
//
//	if err := cfg.Check(); err != nil { ... }      // before anything is opened
//	auth, err := cfg.Authenticator()              // nil when no credentials are configured
//	ln, err := cfg.Listen(ctx)                    // TLS when CertFile is set
//	...
//	err = auth.Authenticate(username, password)   // for each CONNECT
package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
)

// Config describes a local listener. The zero value with an Addr is a
// plain, unauthenticated listener, which Check allows on loopback only.
type Config struct {
	// Addr is the TCP address to listen on, HOST:PORT (port 0 picks a free
	// one). An empty host means every interface.
	Addr string
	// PasswordFile is a mosquitto password_file: lines "user:hash" with
	// the hashes mosquitto_passwd writes ($7$: PBKDF2-SHA512, the default
	// of mosquitto 2.0; $6$: salted SHA-512). Plain-text passwords are
	// refused, as mosquitto 2.0 does.
	PasswordFile string
	// Username and Password are one plain user name and password, checked
	// in addition to the password file. Both or neither.
	Username, Password string
	// CertFile and KeyFile are the listener's TLS certificate (chain) and
	// private key, PEM. Both or neither.
	CertFile, KeyFile string
	// InsecureListen allows an address other than loopback with neither
	// authentication nor TLS.
	InsecureListen bool
}

// Errors of Check, matched with errors.Is.
var (
	// ErrInsecure: an address other than loopback without authentication
	// or TLS, and InsecureListen not set.
	ErrInsecure = errors.New("listener: a listen address other than loopback needs authentication or TLS")
	// ErrConfig: a setting is incomplete or malformed.
	ErrConfig = errors.New("listener: bad configuration")
)

// Authenticates reports whether local clients must give credentials.
func (c Config) Authenticates() bool { return c.PasswordFile != "" || c.Username != "" }

// TLS reports whether the listener speaks TLS.
func (c Config) TLS() bool { return c.CertFile != "" }

// Check validates the configuration without opening anything: the address
// has the form HOST:PORT, the user name and password and the certificate
// and key come in pairs, and an address other than loopback has
// authentication or TLS unless InsecureListen is set. Its errors name the
// setting and wrap ErrConfig or ErrInsecure.
func (c Config) Check() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("%w: listen address %q: want HOST:PORT: %w", ErrConfig, c.Addr, err)
	}
	if (c.Username == "") != (c.Password == "") {
		return fmt.Errorf("%w: a plain user name needs its password and the other way round", ErrConfig)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("%w: the TLS certificate needs its key and the other way round", ErrConfig)
	}
	if !isLoopback(host) && !c.Authenticates() && !c.TLS() && !c.InsecureListen {
		return fmt.Errorf("%w: %q can be reached from other machines, and every local client acts with the device's identity at the broker; "+
			"give a password file or a user and password, or a TLS certificate and key, or listen on 127.0.0.1 (or allow it explicitly)",
			ErrInsecure, c.Addr)
	}
	return nil
}

// isLoopback reports whether a listen host only accepts connections from
// this machine: a loopback IP address or "localhost". An empty host (every
// interface) and any other name are not.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TLSConfig loads the certificate and key into a server tls.Config (TLS 1.2
// or later); nil when the listener is plain.
func (c Config) TLSConfig() (*tls.Config, error) {
	if !c.TLS() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("listener: TLS certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Authenticator reads the password file and returns the check for local
// clients' credentials; nil (and no error) when the configuration has no
// credentials, which lets every client in. A nil *Authenticator is valid.
func (c Config) Authenticator() (*Authenticator, error) {
	if !c.Authenticates() {
		return nil, nil
	}
	a := &Authenticator{}
	if c.PasswordFile != "" {
		pf, err := ReadPasswordFile(c.PasswordFile)
		if err != nil {
			return nil, err
		}
		a.file = pf
	}
	if c.Username != "" {
		a.user, a.password = c.Username, c.Password
	}
	return a, nil
}

// Listen checks the configuration, loads the TLS certificate and starts
// listening: a TLS listener when CertFile is set, plain TCP otherwise.
func (c Config) Listen(ctx context.Context) (net.Listener, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("listener: listening on %s: %w", c.Addr, err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}
