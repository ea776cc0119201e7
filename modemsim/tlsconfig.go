package modemsim

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// errCertNotSet is wrapped by buildTLSConfig when the SSL context's auth mode
// needs a certificate or key that is not configured or not in the modem's
// file store; the backend reports it as result code 33 (not set certificate).
var errCertNotSet = errors.New("certificate not set")

// errBadCert is wrapped by buildTLSConfig when a configured file is not a
// certificate or key in PEM or DER form; the backend reports it as result
// code 32 (handshake fail), as the firmware fails the handshake.
var errBadCert = errors.New("bad certificate file")

// defaultNegotiateTime is the manual's default <negotiatetime>.
const defaultNegotiateTime = 300 * time.Second

// tlsVersions maps AT+CSSLCFG "sslversion" 0..4 to the lowest and highest TLS
// version offered. Go has no SSL 3.0, so 0 (SSL3.0) offers TLS 1.0, the
// oldest protocol Go's crypto/tls speaks. 4 (all) offers the versions of the
// manuals' list that Go has, TLS 1.0 to TLS 1.2: these modems do not speak
// TLS 1.3, so neither does the emulator (a TLS 1.3-only broker fails with
// 32 as on the hardware).
var tlsVersions = [...]struct{ min, max uint16 }{
	0: {tls.VersionTLS10, tls.VersionTLS10},
	1: {tls.VersionTLS10, tls.VersionTLS10},
	2: {tls.VersionTLS11, tls.VersionTLS11},
	3: {tls.VersionTLS12, tls.VersionTLS12},
	4: {tls.VersionTLS10, tls.VersionTLS12},
}

// negotiateTimeout is the handshake limit of the context (AT+CSSLCFG
// "negotiatetime"), the manual's default 300 s when unset.
func (s sslContext) negotiateTimeout() time.Duration {
	if s.NegotiateTime <= 0 {
		return defaultNegotiateTime
	}
	return time.Duration(s.NegotiateTime) * time.Second
}

// buildTLSConfig turns an SSL context of AT+CSSLCFG and the files uploaded
// with AT+CCERTDOWN into a client TLS configuration for serverName.
//
// Auth modes, as in the manuals:
//   - 0: no authentication: the server certificate is not checked.
//   - 1: server authentication with the root CA of "cacert".
//   - 2: server and client authentication: "cacert", "clientcert", "clientkey".
//   - 3: client authentication only: "clientcert" and "clientkey", server unchecked.
//
// Server verification checks the chain against the CA and the host name.
// With IgnoreLocalTime the validity period is not enforced: the chain is
// accepted if it verifies at some instant inside the certificates' validity
// windows (the firmware then needs no clock, AT+CCLK). Files may be PEM or
// DER. Missing files wrap errCertNotSet, unreadable ones errBadCert.
func buildTLSConfig(ssl sslContext, certs func(string) ([]byte, bool), serverName string) (*tls.Config, error) {
	if ssl.Version < 0 || ssl.Version >= len(tlsVersions) {
		return nil, fmt.Errorf("sslversion %d out of range 0-4", ssl.Version)
	}
	v := tlsVersions[ssl.Version]
	cfg := &tls.Config{
		MinVersion: v.min,
		MaxVersion: v.max,
		ServerName: serverName,
		// Verification, when the auth mode asks for it, happens in
		// VerifyConnection so that IgnoreLocalTime can be honoured.
		InsecureSkipVerify: true,
	}
	var verifyServer, clientAuth bool
	switch ssl.AuthMode {
	case 0:
	case 1:
		verifyServer = true
	case 2:
		verifyServer, clientAuth = true, true
	case 3:
		clientAuth = true
	default:
		return nil, fmt.Errorf("authmode %d out of range 0-3", ssl.AuthMode)
	}
	if verifyServer {
		roots, err := loadCertificates(certs, "cacert", ssl.CACert)
		if err != nil {
			return nil, err
		}
		cfg.VerifyConnection = verifyServerChain(roots, serverName, ssl.IgnoreLocalTime)
	}
	if clientAuth {
		pair, err := loadKeyPair(certs, ssl.ClientCert, ssl.ClientKey)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// readCertFile fetches a file of the modem's store for the configuration
// item what ("cacert", "clientcert", "clientkey").
func readCertFile(certs func(string) ([]byte, bool), what, name string) ([]byte, error) {
	if name == "" {
		return nil, fmt.Errorf("%s: no file configured: %w", what, errCertNotSet)
	}
	if certs == nil {
		return nil, fmt.Errorf("%s %q: no such file: %w", what, name, errCertNotSet)
	}
	data, ok := certs(name)
	if !ok {
		return nil, fmt.Errorf("%s %q: no such file: %w", what, name, errCertNotSet)
	}
	return data, nil
}

// loadCertificates parses every certificate of a PEM or DER file.
func loadCertificates(certs func(string) ([]byte, bool), what, name string) ([]*x509.Certificate, error) {
	data, err := readCertFile(certs, what, name)
	if err != nil {
		return nil, err
	}
	ders, err := certificateDERs(data)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, name, err)
	}
	out := make([]*x509.Certificate, 0, len(ders))
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w: %w", what, name, errBadCert, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// certificateDERs returns the DER blocks of a PEM file (every CERTIFICATE
// block) or the file itself when it is not PEM.
func certificateDERs(data []byte) ([][]byte, error) {
	if !isPEM(data) {
		return [][]byte{data}, nil
	}
	var ders [][]byte
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			ders = append(ders, b.Bytes)
		}
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE block in PEM data", errBadCert)
	}
	return ders, nil
}

// isPEM reports whether data holds a PEM block.
func isPEM(data []byte) bool {
	b, _ := pem.Decode(data)
	return b != nil
}

// loadKeyPair builds the client certificate from the "clientcert" and
// "clientkey" files, PEM or DER, and checks that they belong together.
func loadKeyPair(certs func(string) ([]byte, bool), certName, keyName string) (tls.Certificate, error) {
	chain, err := loadCertificates(certs, "clientcert", certName)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyData, err := readCertFile(certs, "clientkey", keyName)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := parsePrivateKey(keyData)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("clientkey %q: %w", keyName, err)
	}
	if err := keyMatches(chain[0], key); err != nil {
		return tls.Certificate{}, fmt.Errorf("clientkey %q does not belong to clientcert %q: %w", keyName, certName, err)
	}
	pair := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		pair.Certificate = append(pair.Certificate, c.Raw)
	}
	return pair, nil
}

// parsePrivateKey reads a PKCS#8, PKCS#1 or SEC 1 (EC) private key in PEM or
// DER form.
func parsePrivateKey(data []byte) (any, error) {
	der := data
	if isPEM(data) {
		der = nil
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type == "PRIVATE KEY" || b.Type == "RSA PRIVATE KEY" || b.Type == "EC PRIVATE KEY" {
				der = b.Bytes
				break
			}
		}
		if der == nil {
			return nil, fmt.Errorf("%w: no private key block in PEM data", errBadCert)
		}
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w: not a PKCS#8, PKCS#1 or EC private key", errBadCert)
}

// keyMatches checks that key is the private half of cert's public key.
func keyMatches(cert *x509.Certificate, key any) error {
	type publicKeyer interface{ Public() crypto.PublicKey }
	k, ok := key.(publicKeyer)
	if !ok {
		return fmt.Errorf("%w: unsupported key type %T", errBadCert, key)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := k.Public().(equaler)
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("%w: public keys differ", errBadCert)
	}
	return nil
}

// verifyServerChain returns a VerifyConnection callback that verifies the
// server's chain against roots and its host name; with ignoreTime the
// validity period is not enforced.
func verifyServerChain(roots []*x509.Certificate, serverName string, ignoreTime bool) func(tls.ConnectionState) error {
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		leaf := cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		opts := x509.VerifyOptions{
			Roots:         pool,
			Intermediates: inter,
			DNSName:       serverName,
			CurrentTime:   time.Now(),
		}
		_, err := leaf.Verify(opts)
		if err == nil || !ignoreTime || !isValidityError(err) {
			return err
		}
		// Ignore local time: accept the chain if it verifies at any
		// instant at an edge of the validity windows involved.
		for _, at := range validityInstants(append(append([]*x509.Certificate(nil), cs.PeerCertificates...), roots...)) {
			opts.CurrentTime = at
			if _, err2 := leaf.Verify(opts); err2 == nil {
				return nil
			}
		}
		return err
	}
}

// isValidityError reports whether err is an expired or not-yet-valid
// certificate error.
func isValidityError(err error) bool {
	var ci x509.CertificateInvalidError
	return errors.As(err, &ci) && ci.Reason == x509.Expired
}

// validityInstants lists the starts and ends of the certificates' validity
// windows, the candidate instants at which a chain can be valid at all.
func validityInstants(certs []*x509.Certificate) []time.Time {
	out := make([]time.Time, 0, 2*len(certs))
	for _, c := range certs {
		out = append(out, c.NotBefore, c.NotAfter)
	}
	return out
}
