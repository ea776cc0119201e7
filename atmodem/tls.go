package atmodem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"
)

// Cert is a certificate or key file on the modem. With Data set it is
// uploaded with AT+CCERTDOWN under Name when the modem does not list it (or
// when this Modem uploaded other data under that name); with Data nil, Name
// must already be on the modem.
type Cert struct {
	Name string // 5-128 bytes, ending in .pem or .der
	Data []byte // PEM or DER bytes, 1-10240 bytes, or nil
}

// AuthMode is AT+CSSLCFG "authmode".
type AuthMode int

// The authentication modes of AT+CSSLCFG.
const (
	AuthNone         AuthMode = 0 // no authentication
	AuthServer       AuthMode = 1 // server authentication (needs CACert)
	AuthServerClient AuthMode = 2 // server and client (CACert, ClientCert, ClientKey)
	AuthClient       AuthMode = 3 // client authentication only
)

// TLSConfig is the SSL context used for a server type 1 (ssl://, tls://,
// mqtts://) broker.
type TLSConfig struct {
	Context int // SSL context 0-9
	// SSLVersion: 1 TLS1.0, 2 TLS1.1, 3 TLS1.2, 4 all. The zero value means
	// the default 4 (all); SSL 3.0 (0) cannot be chosen here, use
	// Modem.SetSSLVersion.
	SSLVersion int
	AuthMode   AuthMode // default AuthNone
	// IgnoreLocalTime ignores the modem's clock when checking certificate
	// validity (the modem's own default, but false here: set it when the
	// modem's clock is not set with AT+CCLK).
	IgnoreLocalTime bool
	NegotiateTime   time.Duration // 10-300 s; 0 leaves the modem's default
	CACert          Cert
	ClientCert      Cert
	ClientKey       Cert
}

// tlsOf returns the TLS configuration of a TLS connect: opts.TLS with its
// defaults filled in, or context = index with no authentication.
func tlsOf(opts ConnectOptions, index int) *TLSConfig {
	if opts.TLS == nil {
		return &TLSConfig{Context: index, SSLVersion: SSLVersionAll, AuthMode: AuthNone, IgnoreLocalTime: true}
	}
	c := *opts.TLS
	if c.SSLVersion == 0 {
		c.SSLVersion = SSLVersionAll
	}
	return &c
}

// checkTLS validates a TLS configuration.
func checkTLS(model Model, c *TLSConfig) error {
	if err := checkSSLContext(model, c.Context); err != nil {
		return err
	}
	if err := checkRange(model, "sslversion", c.SSLVersion, Range{Min: 0, Max: 4}, ""); err != nil {
		return err
	}
	if err := checkRange(model, "authmode", int(c.AuthMode), Range{Min: 0, Max: 3}, ""); err != nil {
		return err
	}
	if c.NegotiateTime != 0 {
		secs, err := seconds(model, "negotiatetime", c.NegotiateTime)
		if err != nil {
			return err
		}
		if err := checkRange(model, "negotiatetime", secs, model.Limits().NegotiateTime, "s"); err != nil {
			return err
		}
	}
	certs := []struct {
		param string
		cert  Cert
		need  bool
	}{
		{"ca_file", c.CACert, c.AuthMode == AuthServer || c.AuthMode == AuthServerClient},
		{"clientcert_file", c.ClientCert, c.AuthMode == AuthServerClient || c.AuthMode == AuthClient},
		{"clientkey_file", c.ClientKey, c.AuthMode == AuthServerClient || c.AuthMode == AuthClient},
	}
	for _, x := range certs {
		if x.cert.Name == "" {
			if x.need {
				return paramErr(model, x.param, "authmode %d needs it", int(c.AuthMode))
			}
			if x.cert.Data != nil {
				return paramErr(model, x.param, "data given without a file name")
			}
			continue
		}
		if err := checkCertName(model, x.param, x.cert.Name); err != nil {
			return err
		}
		if x.cert.Data != nil {
			if err := checkLength(model, x.param+" data", len(x.cert.Data), model.Limits().CertSize); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameTLS(a, b TLSConfig) bool {
	return a.Context == b.Context && a.SSLVersion == b.SSLVersion && a.AuthMode == b.AuthMode &&
		a.IgnoreLocalTime == b.IgnoreLocalTime && a.NegotiateTime == b.NegotiateTime &&
		sameCert(a.CACert, b.CACert) && sameCert(a.ClientCert, b.ClientCert) && sameCert(a.ClientKey, b.ClientKey)
}

func sameCert(a, b Cert) bool { return a.Name == b.Name && bytes.Equal(a.Data, b.Data) }

// setupTLS uploads the certificates the modem lacks and configures the SSL
// context when its configuration differs from what this Modem wrote. Both
// are modem-wide, so they run under the modem's setup lock.
func (s *Session) setupTLS(ctx context.Context, epoch uint64, c *TLSConfig) error {
	setup := &s.m.sessions.setup
	setup.Lock()
	defer setup.Unlock()
	if err := s.uploadCerts(ctx, epoch, c); err != nil {
		return err
	}
	want := sslContextSetup{
		sslVersion:      c.SSLVersion,
		authMode:        int(c.AuthMode),
		ignoreLocalTime: c.IgnoreLocalTime,
		negotiateTime:   int(c.NegotiateTime / time.Second),
		ca:              c.CACert.Name,
		cert:            c.ClientCert.Name,
		key:             c.ClientKey.Name,
	}
	var have sslContextSetup
	var known bool
	s.m.sessions.withState(func(st *modemState) { have, known = st.sslContexts[c.Context] })
	if known && have == want {
		return nil
	}
	if err := s.m.ConfigureSSLContext(ctx, *c); err != nil {
		return s.wrap("ssl context", err)
	}
	s.m.sessions.at(epoch, func(st *modemState) {
		if st.sslContexts == nil {
			st.sslContexts = make(map[int]sslContextSetup)
		}
		st.sslContexts[c.Context] = want
	})
	return nil
}

// uploadCerts sends AT+CCERTDOWN for each certificate with Data that the
// modem does not list, or that this Modem uploaded with other data. The
// list (AT+CCERTLIST) is only asked when some certificate is not known.
func (s *Session) uploadCerts(ctx context.Context, epoch uint64, c *TLSConfig) error {
	type pending struct {
		cert Cert
		sum  [sha256.Size]byte
		ours bool // this Modem uploaded other data under the name
	}
	var todo []pending
	s.m.sessions.withState(func(st *modemState) {
		for _, cert := range []Cert{c.CACert, c.ClientCert, c.ClientKey} {
			if cert.Name == "" || cert.Data == nil {
				continue
			}
			sum := sha256.Sum256(cert.Data)
			have, ours := st.certs[cert.Name]
			if ours && have == sum {
				continue
			}
			todo = append(todo, pending{cert, sum, ours})
		}
	})
	if len(todo) == 0 {
		return nil
	}
	listed, err := s.m.CertList(ctx)
	if err != nil {
		return s.wrap("certificate list", err)
	}
	for _, p := range todo {
		if p.ours || !slices.Contains(listed, p.cert.Name) {
			if err := s.m.CertDownload(ctx, p.cert.Name, p.cert.Data); err != nil {
				return s.wrap("certificate "+p.cert.Name, err)
			}
		}
		s.m.sessions.at(epoch, func(st *modemState) {
			if st.certs == nil {
				st.certs = make(map[string][sha256.Size]byte)
			}
			st.certs[p.cert.Name] = p.sum
		})
	}
	return nil
}

// ConfigureSSLContext writes an SSL context with AT+CSSLCFG: "sslversion"
// (0 taken as 4), "authmode", "ignorelocaltime", "negotiatetime" (when set)
// and the file names that are set ("cacert", "clientcert", "clientkey").
// The files must be on the modem (see CertDownload); Cert.Data is ignored.
// It validates everything before writing.
func (m *Modem) ConfigureSSLContext(ctx context.Context, c TLSConfig) error {
	if c.SSLVersion == 0 {
		c.SSLVersion = SSLVersionAll
	}
	if err := checkTLS(m.Model(), &c); err != nil {
		return err
	}
	i := c.Context
	steps := []struct {
		key string
		run func() error
	}{
		{"sslversion", func() error { return m.SetSSLVersion(ctx, i, c.SSLVersion) }},
		{"authmode", func() error { return m.SetSSLAuthMode(ctx, i, c.AuthMode) }},
		{"ignorelocaltime", func() error { return m.SetSSLIgnoreLocalTime(ctx, i, c.IgnoreLocalTime) }},
		{"negotiatetime", func() error {
			if c.NegotiateTime == 0 {
				return nil
			}
			return m.SetSSLNegotiateTime(ctx, i, c.NegotiateTime)
		}},
		{"cacert", func() error { return setIfNamed(ctx, m.SetSSLCACert, i, c.CACert.Name) }},
		{"clientcert", func() error { return setIfNamed(ctx, m.SetSSLClientCert, i, c.ClientCert.Name) }},
		{"clientkey", func() error { return setIfNamed(ctx, m.SetSSLClientKey, i, c.ClientKey.Name) }},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			return fmt.Errorf("atmodem: SSL context %d: %s: %w", i, st.key, err)
		}
	}
	return nil
}

func setIfNamed(ctx context.Context, set func(context.Context, int, string) error, i int, name string) error {
	if name == "" {
		return nil
	}
	return set(ctx, i, name)
}
