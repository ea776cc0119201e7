package bridge

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/listener"
)

// DefaultListen is where the embedded local broker listens by default.
const DefaultListen = "127.0.0.1:1883"

// ListenerConfig is the embedded local broker's listener: where it
// listens, whether it speaks TLS, and which local clients it lets in. A
// configuration file sets it with mosquitto's listener keywords (listener,
// password_file, certfile, keyfile, allow_anonymous); the zero value is a
// plain listener on DefaultListen that lets every client in.
//
// Every local client acts with the device's identity at the remote
// broker (its client certificate, its credentials, its network), so an
// address other machines can reach needs authentication or TLS unless
// InsecureListen (or allow_anonymous true) accepts it, as for "cellmqtt
// gateway". That is the project's rule, not mosquitto 2.0's, which lets no
// anonymous client into a configured listener unless allow_anonymous is
// true: here a listener on loopback, or with TLS, lets clients without
// credentials in when no password file or user is given.
type ListenerConfig struct {
	// Addr is HOST:PORT ("listener PORT [ADDRESS]"; without an address,
	// every interface, as in mosquitto); empty means DefaultListen. Port
	// 0 picks a free port.
	Addr string
	// PasswordFile is a mosquitto password_file, hashed by
	// mosquitto_passwd ($7$ or $6$; plain-text passwords are refused, as
	// by mosquitto 2.0). With it (or Username) a client must give a user
	// name and password that it holds.
	PasswordFile string
	// Username and Password are one plain user and password, checked
	// besides the password file ("cellmqtt bridge --local-user
	// --local-password"; mosquitto has no keyword for it).
	Username, Password string
	// CertFile and KeyFile are the listener's TLS certificate (chain) and
	// private key, PEM (certfile, keyfile).
	CertFile, KeyFile string
	// AllowAnonymous is allow_anonymous when given: true lets clients
	// without a user name in even with a password file, and accepts an
	// address other machines reach (as InsecureListen); false refuses them,
	// which needs a password file or a user.
	AllowAnonymous *bool
	// InsecureListen accepts an address other than loopback with neither
	// authentication nor TLS ("--insecure-listen").
	InsecureListen bool
}

// Authenticator checks the user name and password a local client gives
// in its CONNECT. A non-nil error refuses the client, as "cellmqtt
// gateway" does: without a user name with CONNACK "not authorized" (MQTT
// 3.1.1 return code 5, MQTT 5 0x87), otherwise "bad user name or password"
// (4, 0x86).
type Authenticator interface {
	Authenticate(username string, password []byte) error
}

// isSet reports whether any listener setting is given.
func (l ListenerConfig) isSet() bool { return l != (ListenerConfig{}) }

// Authenticates reports whether local clients are asked for credentials
// (a password file or a user is given).
func (l ListenerConfig) Authenticates() bool { return l.PasswordFile != "" || l.Username != "" }

// TLS reports whether the listener speaks TLS.
func (l ListenerConfig) TLS() bool { return l.CertFile != "" }

// anonymous reports whether allow_anonymous true was given.
func (l ListenerConfig) anonymous() bool { return l.AllowAnonymous != nil && *l.AllowAnonymous }

// config is the listener as package internal/listener takes it.
func (l ListenerConfig) config() listener.Config {
	addr := l.Addr
	if addr == "" {
		addr = DefaultListen
	}
	return listener.Config{
		Addr: addr, PasswordFile: l.PasswordFile, Username: l.Username, Password: l.Password,
		CertFile: l.CertFile, KeyFile: l.KeyFile, InsecureListen: l.InsecureListen || l.anonymous(),
	}
}

// Check validates the listener without opening anything: the address has
// the form HOST:PORT, the certificate and key and the user and password
// come in pairs, allow_anonymous false has credentials to ask for, and an
// address other than loopback has authentication or TLS unless accepted.
// Errors wrap ErrConfig; the last one also internal/listener's
// ErrInsecure.
func (l ListenerConfig) Check() error { return checkListener(l, Options{}) }

// checkListener checks the listener settings of the configuration and the
// options together, before anything is opened.
func checkListener(l ListenerConfig, opts Options) error {
	if opts.Local != "" {
		if l.isSet() || opts.Listener != nil || opts.Authenticator != nil {
			return fmt.Errorf("bridge: the listener settings (listener, password_file, certfile, keyfile, allow_anonymous; Options.Listener, Options.Authenticator) are the embedded broker's: an existing local broker (Options.Local) has its own: %w", ErrConfig)
		}
		return nil
	}
	if opts.Listener != nil && (l.Addr != "" || l.TLS() || l.InsecureListen) {
		return fmt.Errorf("bridge: Options.Listener and the configuration's listener address or TLS (listener, certfile, keyfile) exclude each other: %w", ErrConfig)
	}
	if opts.Authenticator != nil && l.Authenticates() {
		return fmt.Errorf("bridge: Options.Authenticator and the configuration's password_file exclude each other: %w", ErrConfig)
	}
	if l.AllowAnonymous != nil && !*l.AllowAnonymous && !l.Authenticates() && opts.Authenticator == nil {
		return fmt.Errorf("bridge: local listener: allow_anonymous false without password_file: no local client could connect: %w", ErrConfig)
	}
	if opts.Listener != nil {
		return nil // the caller's listener, the caller's rule
	}
	c := l.config()
	if opts.Authenticator != nil {
		c.InsecureListen = true // the caller authenticates
	}
	if err := c.Check(); err != nil {
		return fmt.Errorf("bridge: local listener: %w: %w", err, ErrConfig)
	}
	return nil
}

// resolveListener sets opts.Listener and opts.Authenticator to what the
// embedded broker uses: the options', or the listener, password file and
// user of l. With allow_anonymous true, clients without a user name are
// let in. Nothing is opened when it fails.
func resolveListener(l ListenerConfig, opts *Options) error {
	auth := opts.Authenticator
	if auth == nil && l.Authenticates() {
		a, err := l.config().Authenticator()
		if err != nil {
			return fmt.Errorf("bridge: local listener: %w: %w", err, ErrConfig)
		}
		auth = a
	}
	if auth != nil && l.anonymous() {
		auth = anonymousAllowed{auth}
	}
	if opts.Listener == nil {
		c := l.config()
		// A certificate or key that cannot be loaded is a configuration
		// error; an address that cannot be listened on is not.
		if _, err := c.TLSConfig(); err != nil {
			return fmt.Errorf("bridge: local listener: %w: %w", err, ErrConfig)
		}
		ln, err := c.Listen(context.Background())
		if err != nil {
			return fmt.Errorf("bridge: local broker: %w", err)
		}
		opts.Listener = ln
	}
	opts.Authenticator = auth
	return nil
}

// anonymousAllowed lets clients without a user name in and checks the
// others (allow_anonymous true with a password file).
type anonymousAllowed struct{ Authenticator }

func (a anonymousAllowed) Authenticate(username string, password []byte) error {
	if username == "" {
		return nil
	}
	return a.Authenticator.Authenticate(username, password)
}

// connectWait bounds how long an accepted local connection may take to
// complete its TLS handshake and send its CONNECT, as for "cellmqtt
// gateway": mochi waits for ever, so idle connections would pile up.
const connectWait = 5 * time.Second

// connectDeadline gives every accepted connection a deadline of d, which
// mochi replaces with the client's keepalive once the CONNECT is accepted.
type connectDeadline struct {
	net.Listener
	d time.Duration
}

func (l connectDeadline) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(l.d))
	return c, nil
}
