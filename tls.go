package cellmqtt

import (
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// TLSConfig is the modem's SSL context for ssl://, tls:// and mqtts://
// brokers (AT+CSSLCFG and AT+CMQTTSSLCFG). Certificates are either uploaded
// by the client (CertPEM) or already stored on the modem (CertOnModem).
type TLSConfig struct {
	// Context is the SSL context, 0-9. Two clients on one modem with
	// different settings need different contexts.
	Context int
	// SSLVersion is AT+CSSLCFG "sslversion": 1 TLS1.0, 2 TLS1.1, 3 TLS1.2,
	// 4 all. The zero value means 4 (all); the insecure SSL3.0 (the modem's
	// 0) cannot be chosen.
	SSLVersion int
	// AuthMode: atmodem.AuthNone, AuthServer (needs CACert), AuthServerClient
	// (CACert, ClientCert, ClientKey) or AuthClient.
	AuthMode atmodem.AuthMode
	// IgnoreLocalTime skips the check of the certificates' validity dates
	// against the modem's clock.
	IgnoreLocalTime bool
	// NegotiateTimeout bounds the TLS handshake (10-300 s); 0 leaves the
	// modem's default.
	NegotiateTimeout time.Duration
	// CACert, ClientCert and ClientKey are the certificate files.
	CACert, ClientCert, ClientKey Cert
}

// Cert is a certificate or key file on the modem.
type Cert = atmodem.Cert

// CertPEM is a certificate or key the client uploads to the modem under
// name (5-128 bytes, ending in .pem or .der) with AT+CCERTDOWN when the
// modem does not hold it yet.
func CertPEM(name string, pem []byte) Cert { return Cert{Name: name, Data: pem} }

// CertOnModem is a certificate or key already stored on the modem under name.
func CertOnModem(name string) Cert { return Cert{Name: name} }

// atmodem converts the configuration for the session.
func (t *TLSConfig) atmodem() *atmodem.TLSConfig {
	if t == nil {
		return nil
	}
	v := t.SSLVersion
	if v == 0 {
		v = 4
	}
	return &atmodem.TLSConfig{
		Context:         t.Context,
		SSLVersion:      v,
		AuthMode:        t.AuthMode,
		IgnoreLocalTime: t.IgnoreLocalTime,
		NegotiateTime:   t.NegotiateTimeout,
		CACert:          t.CACert,
		ClientCert:      t.ClientCert,
		ClientKey:       t.ClientKey,
	}
}
