package compat

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// Option configures Dial, OpenConnectionFn, AttemptConnectionFn and Serve.
type Option func(*config)

type config struct {
	index             int           // -1: the lowest free index
	model             atmodem.Model // AutoDetect: any
	tls               *atmodem.TLSConfig
	logger            *slog.Logger
	connectTimeout    time.Duration
	publishTimeout    time.Duration
	disconnectTimeout time.Duration
	cleanupTimeout    time.Duration
	// connectWait and indexWait are Serve's waits for a client's CONNECT
	// (tests shorten it) and for a client index (WithIndexWait).
	connectWait, indexWait time.Duration
	auth                   Authenticator // nil: every client is let in
	// brokerUser and brokerPassword replace the client's credentials
	// when brokerCreds is set.
	brokerCreds                bool
	brokerUser, brokerPassword string
	maxInflight                int // the session's publish window
}

func newConfig(opts []Option) config {
	c := config{
		index:             -1,
		connectTimeout:    2 * time.Minute,
		disconnectTimeout: 60 * time.Second,
		cleanupTimeout:    20 * time.Second,
		connectWait:       connectWait,
		indexWait:         DefaultIndexWait,
		maxInflight:       1,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// check rejects option values the modem would refuse on every use, before
// anything is written to it.
func (c config) check() error {
	if c.index > 1 {
		return fmt.Errorf("compat: WithClientIndex(%d): the modems have client indexes 0 and 1: %w", c.index, atmodem.ErrInvalidParameter)
	}
	if s := c.publishTimeout; s != 0 && (s < 60*time.Second || s > 180*time.Second) {
		return fmt.Errorf("compat: WithPublishTimeout(%v): pub_timeout is 60-180 s: %w", s, atmodem.ErrInvalidParameter)
	}
	if s := c.disconnectTimeout; s != 0 && (s < 60*time.Second || s > 180*time.Second) {
		return fmt.Errorf("compat: WithDisconnectTimeout(%v): the DISC timeout is 0 or 60-180 s: %w", s, atmodem.ErrInvalidParameter)
	}
	return nil
}

// WithClientIndex pins the modem's MQTT client index (0 or 1). By default
// each connection takes the lowest free index.
func WithClientIndex(i int) Option {
	return func(c *config) {
		if i < 0 {
			i = 2 // refused by check: a negative index is no "any index"
		}
		c.index = i
	}
}

// WithModel names the modem family the application was written for
// (atmodem.A7600 or atmodem.SIM7600; their limits differ, e.g. client IDs of
// 1-128 or 1-23 bytes). A CONNECT on a modem of the other family is refused
// ("server unavailable": 3.1.1 return code 3, MQTT 5 0x88 with the reason)
// instead of running with limits the application does not expect. The
// default, AutoDetect, takes whichever family the modem is.
func WithModel(m atmodem.Model) Option { return func(c *config) { c.model = m } }

// WithTLS sets the SSL context used when the broker URL is ssl://, tls://
// or mqtts://: certificates by name on the modem or as PEM data to upload,
// the auth mode and the SSL version. The tls.Config of the paho options
// cannot be used by the modem and is ignored.
func WithTLS(cfg atmodem.TLSConfig) Option {
	return func(c *config) { c.tls = &cfg }
}

// WithLogger logs the adapter's decisions (packets, refusals, dropped MQTT 5
// properties) at debug and warning level.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithConnectTimeout bounds the modem's connect sequence for one CONNECT
// (default 2 minutes: AT+CMQTTSTART alone may take 120 s). A client that
// gives up earlier closes the connection, which cancels the sequence.
func WithConnectTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.connectTimeout = d
		}
	}
}

// WithPublishTimeout sets the modem's pub_timeout (60-180 s; 0, the
// default, lets atmodem use 60 s).
func WithPublishTimeout(d time.Duration) Option { return func(c *config) { c.publishTimeout = d } }

// WithDisconnectTimeout sets the timeout of AT+CMQTTDISC (0 or 60-180 s;
// default 60 s).
func WithDisconnectTimeout(d time.Duration) Option {
	return func(c *config) { c.disconnectTimeout = d }
}

// WithMaxInflight sets how many of a client's publishes may wait for the
// modem's result at once (atmodem.Session.SetMaxInflight). paho clients
// keep several publishes in flight; with the default, 1, each waits for
// the result of the one before (safe on every firmware). A larger window
// sends the next after the previous PUB's OK, which on a cellular link
// multiplies the QoS 1 rate (BENCHMARKS.md); firmware that refuses it is
// detected, and the adapter sends the refused message again (with DUP) and
// goes on one at a time.
// Values below 1 are taken as 1.
func WithMaxInflight(n int) Option { return func(c *config) { c.maxInflight = max(n, 1) } }

// Authenticator checks the user name and password of a client's CONNECT;
// *listener.Authenticator of the gateway is one. Authenticate returns nil
// to let the client in.
type Authenticator interface {
	Authenticate(username string, password []byte) error
}

// DefaultIndexWait is how long a CONNECT to Serve waits for a client index
// to be given back when both are taken: the connect timeout of paho's
// clients and MQTT.js (30 s). An index comes back when a client leaves and
// its DISC and REL are answered, after the messages it handed over went to
// the modem, which takes as long as those messages take on the link.
const DefaultIndexWait = 30 * time.Second

// WithIndexWait sets how long a CONNECT to Serve waits for a client index
// when both are taken before it is answered "server unavailable" (default
// DefaultIndexWait; at least 1 s).
func WithIndexWait(d time.Duration) Option {
	return func(c *config) { c.indexWait = max(d, time.Second) }
}

// WithAuthenticator makes Serve (and Dial) check each client's credentials
// before anything reaches the modem: a CONNECT without a user name is
// answered "not authorized" (3.1.1 return code 5, MQTT 5 0x87), one whose
// credentials a refuses "bad user name or password" (4, 0x86), and no
// client index is taken for either. The credentials a lets in stay
// local: the modem connects with those of WithBrokerCredentials, or with
// none.
func WithAuthenticator(a Authenticator) Option { return func(c *config) { c.auth = a } }

// WithBrokerCredentials sets the user name and password the modem connects
// to the broker with, whatever the client's CONNECT carries (by default
// the client's own are passed on, unless WithAuthenticator is used). An
// empty username sends none.
func WithBrokerCredentials(username, password string) Option {
	return func(c *config) {
		c.brokerCreds, c.brokerUser, c.brokerPassword = true, username, password
	}
}

// TLSFromFiles builds a TLSConfig from PEM or DER files on this computer:
// their contents are uploaded to the modem under their base names (which
// must end in .pem or .der). Empty paths are skipped. The auth mode follows
// from what is given: CA only is server authentication, CA plus client
// certificate and key is mutual authentication, a client certificate and
// key alone is client authentication, nothing is no authentication.
func TLSFromFiles(caFile, certFile, keyFile string) (atmodem.TLSConfig, error) {
	cfg := atmodem.TLSConfig{SSLVersion: 4}
	load := func(path string, into *atmodem.Cert) error {
		if path == "" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("compat: TLS file: %w", err)
		}
		*into = atmodem.Cert{Name: filepath.Base(path), Data: data}
		return nil
	}
	for _, f := range []struct {
		path string
		into *atmodem.Cert
	}{{caFile, &cfg.CACert}, {certFile, &cfg.ClientCert}, {keyFile, &cfg.ClientKey}} {
		if err := load(f.path, f.into); err != nil {
			return atmodem.TLSConfig{}, err
		}
	}
	if (certFile == "") != (keyFile == "") {
		return atmodem.TLSConfig{}, fmt.Errorf("compat: TLS: a client certificate needs its key and the other way round: %w",
			atmodem.ErrInvalidParameter)
	}
	switch {
	case caFile != "" && certFile != "":
		cfg.AuthMode = atmodem.AuthServerClient
	case caFile != "":
		cfg.AuthMode = atmodem.AuthServer
	case certFile != "":
		cfg.AuthMode = atmodem.AuthClient
	default:
		cfg.AuthMode = atmodem.AuthNone
	}
	return cfg, nil
}
