package modemsim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"net"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

func TestTLSVersionsOfSSLVersion(t *testing.T) {
	tests := []struct {
		sslversion int
		min, max   uint16
	}{
		{0, tls.VersionTLS10, tls.VersionTLS10}, // SSL 3.0: Go's oldest is TLS 1.0
		{1, tls.VersionTLS10, tls.VersionTLS10},
		{2, tls.VersionTLS11, tls.VersionTLS11},
		{3, tls.VersionTLS12, tls.VersionTLS12},
		{4, tls.VersionTLS10, tls.VersionTLS12}, // the modems have no TLS 1.3
	}
	for _, tt := range tests {
		cfg, err := buildTLSConfig(sslContext{Version: tt.sslversion}, nil, "127.0.0.1")
		if err != nil {
			t.Fatalf("sslversion %d: %v", tt.sslversion, err)
		}
		if cfg.MinVersion != tt.min || cfg.MaxVersion != tt.max {
			t.Errorf("sslversion %d: TLS %x-%x, want %x-%x", tt.sslversion, cfg.MinVersion, cfg.MaxVersion, tt.min, tt.max)
		}
	}
	for _, bad := range []sslContext{{Version: 5}, {Version: -1}, {Version: 4, AuthMode: 4}} {
		if _, err := buildTLSConfig(bad, nil, "h"); err == nil {
			t.Errorf("buildTLSConfig(%+v) accepted", bad)
		}
	}
}

func TestBuildTLSConfigFiles(t *testing.T) {
	pki := newTestPKI(t, currentValidity())
	other := newTestPKI(t, currentValidity())
	files := pki.files()
	files["garbage.pem"] = []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
	files["junk.der"] = []byte{0x30, 0x03, 0x01, 0x02, 0x03}
	files["other_key.pem"] = other.Client.KeyPEM
	sec1, err := x509.MarshalECPrivateKey(pki.Client.key)
	if err != nil {
		t.Fatal(err)
	}
	files["client_ec.pem"] = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	files["client_ec.der"] = sec1
	tests := []struct {
		name    string
		ssl     sslContext
		wantErr error // nil: success
	}{
		{"mode 0 needs nothing", sslContext{Version: 4}, nil},
		{"mode 1 PEM CA", sslContext{Version: 4, AuthMode: 1, CACert: "ca.pem"}, nil},
		{"mode 1 DER CA", sslContext{Version: 4, AuthMode: 1, CACert: "ca.der"}, nil},
		{"mode 1 no CA configured", sslContext{Version: 4, AuthMode: 1}, errCertNotSet},
		{"mode 1 CA not downloaded", sslContext{Version: 4, AuthMode: 1, CACert: "nope.pem"}, errCertNotSet},
		{"mode 1 CA garbage PEM", sslContext{Version: 4, AuthMode: 1, CACert: "garbage.pem"}, errBadCert},
		{"mode 1 CA garbage DER", sslContext{Version: 4, AuthMode: 1, CACert: "junk.der"}, errBadCert},
		{"mode 2 PEM", sslContext{Version: 4, AuthMode: 2, CACert: "ca.pem", ClientCert: "client.pem", ClientKey: "client_key.pem"}, nil},
		{"mode 2 DER", sslContext{Version: 4, AuthMode: 2, CACert: "ca.der", ClientCert: "client.der", ClientKey: "client_key.der"}, nil},
		{"mode 2 SEC1 key PEM", sslContext{Version: 4, AuthMode: 2, CACert: "ca.pem", ClientCert: "client.pem", ClientKey: "client_ec.pem"}, nil},
		{"mode 2 SEC1 key DER", sslContext{Version: 4, AuthMode: 2, CACert: "ca.pem", ClientCert: "client.pem", ClientKey: "client_ec.der"}, nil},
		{"mode 2 no key", sslContext{Version: 4, AuthMode: 2, CACert: "ca.pem", ClientCert: "client.pem"}, errCertNotSet},
		{"mode 2 no CA", sslContext{Version: 4, AuthMode: 2, ClientCert: "client.pem", ClientKey: "client_key.pem"}, errCertNotSet},
		{"mode 2 key of another cert", sslContext{Version: 4, AuthMode: 2, CACert: "ca.pem", ClientCert: "client.pem", ClientKey: "other_key.pem"}, errBadCert},
		{"mode 2 key file is a cert", sslContext{Version: 4, AuthMode: 2, CACert: "ca.pem", ClientCert: "client.pem", ClientKey: "ca.pem"}, errBadCert},
		{"mode 3 client only", sslContext{Version: 4, AuthMode: 3, ClientCert: "client.pem", ClientKey: "client_key.pem"}, nil},
		{"mode 3 no cert", sslContext{Version: 4, AuthMode: 3, ClientKey: "client_key.pem"}, errCertNotSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := buildTLSConfig(tt.ssl, fileStore(files), "127.0.0.1")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if wantClient := tt.ssl.AuthMode >= 2; (len(cfg.Certificates) == 1) != wantClient {
				t.Errorf("client certificates: %d, want client auth %v", len(cfg.Certificates), wantClient)
			}
			if wantVerify := tt.ssl.AuthMode == 1 || tt.ssl.AuthMode == 2; (cfg.VerifyConnection != nil) != wantVerify {
				t.Errorf("server verification set: %v, want %v", cfg.VerifyConnection != nil, wantVerify)
			}
		})
	}
}

// tlsLinkConfig is a TLS linkConfig with the PKI's files in the store.
func tlsLinkConfig(addr string, files map[string][]byte, ssl sslContext) linkConfig {
	if ssl.NegotiateTime == 0 {
		ssl.NegotiateTime = 10
	}
	return linkConfig{Addr: addr, TLS: true, SSL: ssl, Certs: fileStore(files), ClientID: "tls", KeepAlive: 60, CleanSession: true}
}

func TestTLSHandshakeAuthModes(t *testing.T) {
	pki := newTestPKI(t, currentValidity())
	wrong := newTestPKI(t, currentValidity())
	files := pki.files()
	files["wrong_ca.pem"] = wrong.CA.CertPEM
	files["wrong_client.pem"] = wrong.Client.CertPEM
	files["wrong_client_key.pem"] = wrong.Client.KeyPEM
	server := startEmbedded(t, EmbeddedOptions{TLS: pki.serverTLS(false)})
	mutual := startEmbedded(t, EmbeddedOptions{TLS: pki.serverTLS(true)})
	tls12 := pki.serverTLS(false)
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	only12 := startEmbedded(t, EmbeddedOptions{TLS: tls12})
	tls13 := pki.serverTLS(false)
	tls13.MinVersion = tls.VersionTLS13
	only13 := startEmbedded(t, EmbeddedOptions{TLS: tls13})
	client := func(mode int) sslContext {
		return sslContext{Version: 4, AuthMode: mode, CACert: "ca.pem", ClientCert: "client.pem", ClientKey: "client_key.pem"}
	}
	tests := []struct {
		name string
		addr string
		ssl  sslContext
		want simcom.ResultCode
	}{
		{"mode 0", server.Addr(), sslContext{Version: 4}, simcom.CodeOK},
		{"mode 0 ignores a wrong CA", server.Addr(), sslContext{Version: 4, CACert: "wrong_ca.pem"}, simcom.CodeOK},
		{"mode 1", server.Addr(), client(1), simcom.CodeOK},
		{"mode 1 DER CA", server.Addr(), sslContext{Version: 4, AuthMode: 1, CACert: "ca.der"}, simcom.CodeOK},
		{"mode 1 wrong CA", server.Addr(), sslContext{Version: 4, AuthMode: 1, CACert: "wrong_ca.pem"}, simcom.CodeHandshakeFail},
		{"mode 1 CA missing", server.Addr(), sslContext{Version: 4, AuthMode: 1, CACert: "gone.pem"}, simcom.CodeCertNotSet},
		{"mode 1 without client cert to a server requiring one", mutual.Addr(), client(1), simcom.CodeHandshakeFail},
		{"mode 2", mutual.Addr(), client(2), simcom.CodeOK},
		{"mode 2 client cert of another CA", mutual.Addr(), sslContext{Version: 4, AuthMode: 2, CACert: "ca.pem",
			ClientCert: "wrong_client.pem", ClientKey: "wrong_client_key.pem"}, simcom.CodeHandshakeFail},
		{"mode 2 DER files", mutual.Addr(), sslContext{Version: 4, AuthMode: 2, CACert: "ca.der",
			ClientCert: "client.der", ClientKey: "client_key.der"}, simcom.CodeOK},
		{"mode 3 ignores a wrong CA", mutual.Addr(), sslContext{Version: 4, AuthMode: 3, CACert: "wrong_ca.pem",
			ClientCert: "client.pem", ClientKey: "client_key.pem"}, simcom.CodeOK},
		{"TLS 1.2 to a TLS 1.2 server", only12.Addr(), sslContext{Version: 3}, simcom.CodeOK},
		{"TLS 1.2 to a TLS 1.3-only server", only13.Addr(), sslContext{Version: 3}, simcom.CodeHandshakeFail},
		{"all versions to a TLS 1.3-only server", only13.Addr(), sslContext{Version: 4}, simcom.CodeHandshakeFail},
		{"TLS 1.0 to a TLS 1.2 server", only12.Addr(), sslContext{Version: 1}, simcom.CodeHandshakeFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			link := dialTest(t, tlsLinkConfig(tt.addr, files, tt.ssl), rec.events(), tt.want)
			if link == nil {
				return
			}
			// The TLS link carries MQTT both ways.
			if code := link.Subscribe([]string{"tls/echo"}, []byte{1}, testWait); code != simcom.CodeOK {
				t.Fatalf("Subscribe = %d", code)
			}
			if code := link.Publish("tls/echo", []byte("over TLS"), 1, false, false, testWait); code != simcom.CodeOK {
				t.Fatalf("Publish = %d", code)
			}
			if got := rec.next(t); got.payload != "over TLS" {
				t.Errorf("echo %+v", got)
			}
		})
	}
}

func TestTLSIgnoreLocalTime(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		validity certValidity
		ignore   bool
		want     simcom.ResultCode
	}{
		{"valid, time checked", currentValidity(), false, simcom.CodeOK},
		{"expired, time checked", certValidity{now.Add(-48 * time.Hour), now.Add(-24 * time.Hour)}, false, simcom.CodeHandshakeFail},
		{"expired, time ignored", certValidity{now.Add(-48 * time.Hour), now.Add(-24 * time.Hour)}, true, simcom.CodeOK},
		{"not yet valid, time checked", certValidity{now.Add(24 * time.Hour), now.Add(48 * time.Hour)}, false, simcom.CodeHandshakeFail},
		{"not yet valid, time ignored", certValidity{now.Add(24 * time.Hour), now.Add(48 * time.Hour)}, true, simcom.CodeOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pki := newTestPKI(t, tt.validity)
			b := startEmbedded(t, EmbeddedOptions{TLS: pki.serverTLS(false)})
			ssl := sslContext{Version: 4, AuthMode: 1, CACert: "ca.pem", IgnoreLocalTime: tt.ignore}
			dialTest(t, tlsLinkConfig(b.Addr(), pki.files(), ssl), newRecorder().events(), tt.want)
		})
	}
	t.Run("wrong CA fails even when time is ignored", func(t *testing.T) {
		pki := newTestPKI(t, currentValidity())
		wrong := newTestPKI(t, currentValidity())
		b := startEmbedded(t, EmbeddedOptions{TLS: pki.serverTLS(false)})
		files := maps.Clone(pki.files())
		files["ca.pem"] = wrong.CA.CertPEM
		ssl := sslContext{Version: 4, AuthMode: 1, CACert: "ca.pem", IgnoreLocalTime: true}
		dialTest(t, tlsLinkConfig(b.Addr(), files, ssl), newRecorder().events(), simcom.CodeHandshakeFail)
	})
}

func TestTLSNegotiateTimeLimitsHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts and never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	// The context allows far longer than the negotiate time: only
	// negotiatetime can end the handshake before the test's own deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg := tlsLinkConfig(ln.Addr().String(), nil, sslContext{Version: 4, NegotiateTime: 1})
	if link, code := dialBroker(ctx, cfg, newRecorder().events()); code != simcom.CodeHandshakeFail || link != nil {
		t.Errorf("dialBroker = %v, %d; want nil, 32", link, code)
	}
}
