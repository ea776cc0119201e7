package atmodem_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// testPKI is a CA, a server certificate for 127.0.0.1 and broker.example.com
// and a client certificate, all made for one test.
type testPKI struct {
	caPEM, clientCertPEM, clientKeyDER []byte
	server                             tls.Certificate
	pool                               *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, k *ecdsa.PrivateKey) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"broker.example.com"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	serverKey, clientKey := key(), key()
	serverDER := leaf(2, x509.ExtKeyUsageServerAuth, serverKey)
	clientDER := leaf(3, x509.ExtKeyUsageClientAuth, clientKey)
	clientKeyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testPKI{
		caPEM:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		clientCertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER}),
		clientKeyDER:  clientKeyDER,
		server:        tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey},
		pool:          pool,
	}
}

// TestSessionEmulatorTLS connects with server and client authentication:
// the certificates are uploaded with AT+CCERTDOWN once, the SSL context is
// configured, and a reconnect after a drop sends neither again.
func TestSessionEmulatorTLS(t *testing.T) {
	pki := newTestPKI(t)
	for _, model := range []atmodem.Model{atmodem.A7600, atmodem.SIM7600} {
		t.Run(model.String(), func(t *testing.T) {
			broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{TLS: &tls.Config{
				Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool,
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer broker.Close()
			sim, err := modemsim.New(modemsim.Config{Model: model, Broker: broker.URL()})
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			m := atmodem.New(sim.Conn())
			defer m.Close()
			s, err := m.Session(1)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			opts := atmodem.ConnectOptions{Broker: "mqtts://127.0.0.1", ClientID: "tls-client", TLS: &atmodem.TLSConfig{
				Context: 3, AuthMode: atmodem.AuthServerClient, IgnoreLocalTime: true, NegotiateTime: 30 * time.Second,
				CACert:     atmodem.Cert{Name: "test_ca.pem", Data: pki.caPEM},
				ClientCert: atmodem.Cert{Name: "test_client.pem", Data: pki.clientCertPEM},
				ClientKey:  atmodem.Cert{Name: "test_client_key.der", Data: pki.clientKeyDER},
			}}
			if err := s.Connect(ctx, opts); err != nil {
				t.Fatal(err)
			}
			names, err := m.CertList(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"test_ca.pem", "test_client.pem", "test_client_key.der"} {
				if !strings.Contains(strings.Join(names, " "), n) {
					t.Errorf("CCERTLIST %q lacks %s", names, n)
				}
			}
			cfg, err := m.SSLContextConfig(ctx, 3)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AuthMode != atmodem.AuthServerClient || cfg.CACert != "test_ca.pem" || cfg.ClientKey != "test_client_key.der" {
				t.Errorf("SSL context 3: %+v", cfg)
			}
			if err := s.Publish(ctx, atmodem.Publish{Topic: "tls/x", Payload: []byte("secure"), QoS: 1}); err != nil {
				t.Fatal(err)
			}
			if err := sim.DropConnection(1, 1); err != nil {
				t.Fatal(err)
			}
			if ev := waitEvent(ctx, t, s); ev.Kind != atmodem.EventConnLost {
				t.Fatalf("event %+v", ev)
			}
			before := len(sim.Transcript())
			if err := s.Connect(ctx, opts); err != nil {
				t.Fatal(err)
			}
			var host []byte
			for _, e := range sim.Transcript()[before:] {
				if e.Dir == modemsim.ToModem {
					host = append(host, e.Data...)
				}
			}
			if h := string(host); strings.Contains(h, "CCERTDOWN") || strings.Contains(h, "CSSLCFG") || !strings.Contains(h, "AT+CMQTTSSLCFG=1,3\r") {
				t.Errorf("reconnect wrote %q, want only SSLCFG and CONNECT", h)
			}
			if err := s.Disconnect(ctx, 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}
