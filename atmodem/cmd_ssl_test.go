package atmodem

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSSLCommands(t *testing.T) {
	runSpecs(t, []cmdSpec{
		{name: "sslversion", call: func(ctx context.Context, m *Modem) error { return m.SetSSLVersion(ctx, 0, SSLVersionAll) },
			line: `AT+CSSLCFG="sslversion",0,4`},
		{name: "authmode", call: func(ctx context.Context, m *Modem) error { return m.SetSSLAuthMode(ctx, 9, AuthServerClient) },
			line: `AT+CSSLCFG="authmode",9,2`},
		{name: "ignorelocaltime", call: func(ctx context.Context, m *Modem) error { return m.SetSSLIgnoreLocalTime(ctx, 1, true) },
			line: `AT+CSSLCFG="ignorelocaltime",1,1`},
		{name: "negotiatetime", call: func(ctx context.Context, m *Modem) error { return m.SetSSLNegotiateTime(ctx, 0, 300*time.Second) },
			line: `AT+CSSLCFG="negotiatetime",0,300`},
		{name: "cacert", call: func(ctx context.Context, m *Modem) error { return m.SetSSLCACert(ctx, 0, "server_ca.pem") },
			line: `AT+CSSLCFG="cacert",0,"server_ca.pem"`},
		{name: "clientcert", call: func(ctx context.Context, m *Modem) error { return m.SetSSLClientCert(ctx, 0, "cert.pem") },
			line: `AT+CSSLCFG="clientcert",0,"cert.pem"`},
		{name: "clientkey", call: func(ctx context.Context, m *Modem) error { return m.SetSSLClientKey(ctx, 0, "key_cert.der") },
			line: `AT+CSSLCFG="clientkey",0,"key_cert.der"`},
		{name: "CCERTDOWN", call: func(ctx context.Context, m *Modem) error {
			return m.CertDownload(ctx, "ca.pem", []byte("-----BEGIN CERTIFICATE-----\r\nAA==\r\n-----END CERTIFICATE-----\r\n"))
		}, line: `AT+CCERTDOWN="ca.pem",62`, data: "-----BEGIN CERTIFICATE-----\r\nAA==\r\n-----END CERTIFICATE-----\r\n"},
		{name: "CCERTDELE A7600", model: A7600, call: func(ctx context.Context, m *Modem) error { return m.CertDelete(ctx, "ca.pem") },
			line: `AT+CCERTDELE="ca.pem"`},
		{name: "CCERTDELETE SIM7600", model: SIM7600, call: func(ctx context.Context, m *Modem) error { return m.CertDelete(ctx, "ca.pem") },
			line: `AT+CCERTDELETE="ca.pem"`},
	})
}

func TestSSLReadCommands(t *testing.T) {
	ctx0 := SSLContextConfig{Context: 0, SSLVersion: 4, AuthMode: AuthServer, IgnoreLocalTime: true, NegotiateTime: 300 * time.Second, CACert: "ca.pem"}
	runReadCases(t, []readCase{
		{name: "CSSLCFG?", steps: []step{{expect: "AT+CSSLCFG?\r",
			reply: "\r\n+CSSLCFG: 0,4,1,1,300,\"ca.pem\",\"\",\"\"\r\n+CSSLCFG: 1,3,2,0,120,\"ca.pem\",\"c.pem\",\"k.pem\"\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.SSLConfig(ctx) },
			want: []SSLContextConfig{ctx0, {Context: 1, SSLVersion: 3, AuthMode: AuthServerClient, NegotiateTime: 120 * time.Second, CACert: "ca.pem", ClientCert: "c.pem", ClientKey: "k.pem"}}},
		{name: "CSSLCFG=0", steps: []step{{expect: "AT+CSSLCFG=0\r",
			reply: "\r\n+CSSLCFG: 0,4,1,1,300,ca.pem,,\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.SSLContextConfig(ctx, 0) },
			want: ctx0},
		{name: "CCERTLIST", steps: []step{{expect: "AT+CCERTLIST\r",
			reply: "\r\n+CCERTLIST: \"ca.pem\"\r\n+CCERTLIST: \"client key.der\"\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.CertList(ctx) },
			want: []string{"ca.pem", "client key.der"}},
		{name: "CCERTLIST empty", steps: []step{{expect: "AT+CCERTLIST\r", reply: "\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.CertList(ctx) },
			want: []string(nil)},
	})
}

func TestCertDeleteAutoDetects(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, _ := startModem(t, mode, []step{
			{expect: "ATI\r", reply: "\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: SIMCOM_SIM7600E-H\r\nRevision: SIM7600M22_V2.0\r\nIMEI: 868822040061788\r\n+GCAP: +CGSM\r\n\r\nOK\r\n"},
			{expect: "AT+CCERTDELETE=\"ca.pem\"\r", reply: "\r\nOK\r\n"},
		})
		if err := m.CertDelete(testCtx(t), "ca.pem"); err != nil {
			t.Fatal(err)
		}
		if m.Model() != SIM7600 {
			t.Errorf("model = %v, want SIM7600", m.Model())
		}
	})
}

func TestCertDownloadBinaryExact(t *testing.T) {
	data := make([]byte, 10240)
	for i := range data {
		data[i] = byte(i * 7)
	}
	m, sm := startModem(t, deliverWhole, []step{
		{expect: "AT+CCERTDOWN=\"client.der\",10240\r", reply: "\r\n>"},
		{expect: string(data), reply: "\r\nOK\r\n"},
	}, WithModel(SIM7600))
	if err := m.CertDownload(testCtx(t), "client.der", data); err != nil {
		t.Fatal(err)
	}
	if got := sm.written(); len(got) != len("AT+CCERTDOWN=\"client.der\",10240\r")+10240 {
		t.Errorf("wrote %d bytes", len(got))
	}
	var pe *ParamError
	if err := m.CertDownload(testCtx(t), "client.der", append(data, 0)); !errors.As(err, &pe) || pe.Param != "len" {
		t.Errorf("10241 bytes: err = %v, want ParamError on len", err)
	}
}

func TestConfigureSSLContext(t *testing.T) {
	m, sm := startModem(t, deliverWhole, []step{
		{expect: `AT+CSSLCFG="sslversion",5,4` + "\r", reply: "\r\nOK\r\n"},
		{expect: `AT+CSSLCFG="authmode",5,3` + "\r", reply: "\r\nOK\r\n"},
		{expect: `AT+CSSLCFG="ignorelocaltime",5,0` + "\r", reply: "\r\nOK\r\n"},
		{expect: `AT+CSSLCFG="negotiatetime",5,10` + "\r", reply: "\r\nOK\r\n"},
		{expect: `AT+CSSLCFG="clientcert",5,"c.pem"` + "\r", reply: "\r\nOK\r\n"},
		{expect: `AT+CSSLCFG="clientkey",5,"k.pem"` + "\r", reply: "\r\nERROR\r\n"},
	}, WithModel(A7600))
	ctx := testCtx(t)
	var pe *ParamError
	if err := m.ConfigureSSLContext(ctx, TLSConfig{Context: 5, AuthMode: AuthClient, ClientCert: Cert{Name: "c.pem"}}); !errors.As(err, &pe) || pe.Param != "clientkey_file" {
		t.Fatalf("missing key: err = %v, want ParamError on clientkey_file", err)
	}
	if sm.written() != "" {
		t.Fatalf("wrote %q for a rejected configuration", sm.written())
	}
	err := m.ConfigureSSLContext(ctx, TLSConfig{Context: 5, AuthMode: AuthClient, NegotiateTime: 10 * time.Second,
		ClientCert: Cert{Name: "c.pem"}, ClientKey: Cert{Name: "k.pem"}})
	if !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v, want the clientkey ERROR", err)
	}
}
