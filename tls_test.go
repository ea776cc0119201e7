package cellmqtt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// pemCert is a generated certificate and key, PEM encoded.
type pemCert struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// newPEMCert makes a certificate signed by parent (self-signed when nil).
func newPEMCert(t *testing.T, cn string, parent *pemCert, serial int64, edit func(*x509.Certificate)) *pemCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	edit(tpl)
	signer, signKey := tpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pemCert{
		cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}
}

// TestIntegrationTLS: a TLS broker that requires client certificates; the
// client uploads CA, certificate and key as PEM and connects with server
// and client authentication. A wrong CA fails the handshake.
func TestIntegrationTLS(t *testing.T) {
	ca := newPEMCert(t, "test CA", nil, 1, func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true })
	server := newPEMCert(t, "127.0.0.1", ca, 2, func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	client := newPEMCert(t, "test client", ca, 3, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	other := newPEMCert(t, "other CA", nil, 4, func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true })

	pair, err := tls.X509KeyPair(server.certPEM, server.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	b, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{TLS: &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := peerOnTLS(t, b, pool, client)

	for _, tt := range []struct {
		name string
		ca   *pemCert
		ok   bool
	}{{"right CA", ca, true}, {"wrong CA", other, false}} {
		t.Run(tt.name, func(t *testing.T) {
			sim, err := modemsim.New(modemsim.Config{}) // dials the ssl:// address itself
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			o := NewClientOptions().AddBroker(b.URL()).SetClientID("tls-" + tt.name[:1]).
				SetTransport(sim.Conn()).SetLogger(testLogger(t)).
				SetTLS(TLSConfig{
					Context:    2,
					AuthMode:   atmodem.AuthServerClient,
					CACert:     CertPEM("ca-"+tt.name[:1]+".pem", tt.ca.certPEM),
					ClientCert: CertPEM("client.pem", client.certPEM),
					ClientKey:  CertPEM("client-key.pem", client.keyPEM),
				})
			c := NewClient(o)
			defer c.Disconnect(0)
			tok := c.Connect()
			err = wait(t, tok)
			if !tt.ok {
				var re *atmodem.ResultError
				if !errors.As(err, &re) || re.Code != 32 {
					t.Fatalf("Connect with the wrong CA: %v, want result 32 (handshake fail)", err)
				}
				if rc := tok.(*ConnectToken).ReturnCode(); rc != RCNetworkError {
					t.Errorf("ReturnCode() = %d, want RCNetworkError", rc)
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			mustWait(t, "publish", c.Publish("tls/x", 1, false, "secret"))
			p.waitAll(t, []string{"secret"})
		})
	}
}

// peerOnTLS is a recording subscriber on a TLS broker.
func peerOnTLS(t *testing.T, b *modemsim.EmbeddedBroker, roots *x509.CertPool, cert *pemCert) *peer {
	t.Helper()
	pair, err := tls.X509KeyPair(cert.certPEM, cert.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return peerWith(t, b, "tls/#", &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}})
}
