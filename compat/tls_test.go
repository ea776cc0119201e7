package compat

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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// testPKI writes a throw-away CA, a broker certificate for 127.0.0.1 and a
// client certificate as PEM files into dir, and returns the broker's TLS
// configuration (client certificates required).
func testPKI(t *testing.T, dir string) *tls.Config {
	t.Helper()
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "compat test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		key := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	}
	srvCert, srvKey := leaf(2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	cliCert, cliKey := leaf(3, x509.ExtKeyUsageClientAuth, nil)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	for name, data := range map[string][]byte{"ca.pem": caPEM, "client.pem": cliCert, "client-key.pem": cliKey} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
}

func TestTLSBrokerByScheme(t *testing.T) {
	dir := t.TempDir()
	r := newRig(t, modemsim.EmbeddedOptions{TLS: testPKI(t, dir)}, simcom.SIM7600)
	cfg, err := TLSFromFiles(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AuthMode != atmodem.AuthServerClient || cfg.CACert.Name != "ca.pem" || len(cfg.ClientKey.Data) == 0 {
		t.Fatalf("TLSFromFiles: %+v", cfg)
	}
	tests := []struct {
		name   string
		scheme string
		rc     byte
	}{
		{"ssl:// connects with the certificates", "ssl", 0},
		{"mqtts:// too", "mqtts", 0},
		// The broker closes the plain socket (result 26, a fate that may
		// pass): no CONNACK refusal, the connection just ends (network
		// error 0xFE for paho).
		{"tcp:// to a TLS broker fails", "tcp", packets.ErrNetworkError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mqtt.NewClientOptions().AddBroker(tt.scheme + "://" + r.broker.Addr()).SetClientID("tls-" + tt.scheme).
				SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(waitTimeout)
			o.SetCustomOpenConnectionFn(OpenConnectionFn(r.modem, WithTLS(cfg), WithLogger(testLogger())))
			c := mqtt.NewClient(o)
			tok := c.Connect()
			if !tok.WaitTimeout(waitTimeout) {
				t.Fatal("no CONNACK")
			}
			if rc := tok.(*mqtt.ConnectToken).ReturnCode(); rc != tt.rc {
				t.Fatalf("return code %d (%v), want %d", rc, tok.Error(), tt.rc)
			}
			if tt.rc == 0 {
				waitToken(t, c.Publish("tls/x", 1, false, "secret"), "publish over TLS")
				c.Disconnect(1000)
			}
		})
	}
}

func TestTLSFromFilesErrors(t *testing.T) {
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "a.pem")
	if err := os.WriteFile(pemFile, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		ca, cert, key  string
		wantErr        error
		wantMode       atmodem.AuthMode
		wantErrContain string
	}{
		{"nothing", "", "", "", nil, atmodem.AuthNone, ""},
		{"CA only", pemFile, "", "", nil, atmodem.AuthServer, ""},
		{"client only", "", pemFile, pemFile, nil, atmodem.AuthClient, ""},
		{"cert without key", pemFile, pemFile, "", atmodem.ErrInvalidParameter, 0, "its key"},
		{"missing file", filepath.Join(dir, "nope.pem"), "", "", os.ErrNotExist, 0, "nope.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := TLSFromFiles(tt.ca, tt.cert, tt.key)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantErrContain) {
					t.Errorf("error %v, want %v naming %q", err, tt.wantErr, tt.wantErrContain)
				}
				return
			}
			if err != nil || cfg.AuthMode != tt.wantMode {
				t.Errorf("mode %d, %v; want %d", cfg.AuthMode, err, tt.wantMode)
			}
		})
	}
}
