package atmodem

import (
	"context"
	"strings"
	"time"
)

// The SSL context and certificate commands (SIM7500/7600/7800 manual
// chapter 2.1; the A7600 manual lists the same steps in 1.1 and names its
// delete command AT+CCERTDELE).

// SSL versions of AT+CSSLCFG "sslversion".
const (
	SSLVersion30  = 0 // SSL 3.0
	SSLVersion10  = 1 // TLS 1.0
	SSLVersion11  = 2 // TLS 1.1
	SSLVersion12  = 3 // TLS 1.2
	SSLVersionAll = 4 // all (the modem's default)
)

// SetSSLVersion sends AT+CSSLCFG="sslversion",<ctx>,<version> (0-4, see
// SSLVersion30 .. SSLVersionAll).
func (m *Modem) SetSSLVersion(ctx context.Context, sslCtx, version int) error {
	model := m.Model()
	if err := checkSSLContext(model, sslCtx); err != nil {
		return err
	}
	if err := checkRange(model, "sslversion", version, Range{Min: 0, Max: 4}, ""); err != nil {
		return err
	}
	return m.sslSet(ctx, "sslversion", sslCtx, itoa(version))
}

// SetSSLAuthMode sends AT+CSSLCFG="authmode",<ctx>,<mode> (0-3).
func (m *Modem) SetSSLAuthMode(ctx context.Context, sslCtx int, mode AuthMode) error {
	model := m.Model()
	if err := checkSSLContext(model, sslCtx); err != nil {
		return err
	}
	if err := checkRange(model, "authmode", int(mode), Range{Min: 0, Max: 3}, ""); err != nil {
		return err
	}
	return m.sslSet(ctx, "authmode", sslCtx, itoa(int(mode)))
}

// SetSSLIgnoreLocalTime sends AT+CSSLCFG="ignorelocaltime",<ctx>,<0|1>:
// whether certificate validity ignores the modem's clock (modem default 1).
func (m *Modem) SetSSLIgnoreLocalTime(ctx context.Context, sslCtx int, ignore bool) error {
	if err := checkSSLContext(m.Model(), sslCtx); err != nil {
		return err
	}
	return m.sslSet(ctx, "ignorelocaltime", sslCtx, itoa(boolInt(ignore)))
}

// SetSSLNegotiateTime sends AT+CSSLCFG="negotiatetime",<ctx>,<seconds>: the
// longest TLS handshake, 10-300 whole seconds (modem default 300).
func (m *Modem) SetSSLNegotiateTime(ctx context.Context, sslCtx int, d time.Duration) error {
	model := m.Model()
	if err := checkSSLContext(model, sslCtx); err != nil {
		return err
	}
	secs, err := seconds(model, "negotiatetime", d)
	if err != nil {
		return err
	}
	if err := checkRange(model, "negotiatetime", secs, model.Limits().NegotiateTime, "s"); err != nil {
		return err
	}
	return m.sslSet(ctx, "negotiatetime", sslCtx, itoa(secs))
}

// SetSSLCACert sends AT+CSSLCFG="cacert",<ctx>,"<file>": the server root CA
// file on the modem (5-128 bytes, .pem or .der).
func (m *Modem) SetSSLCACert(ctx context.Context, sslCtx int, file string) error {
	return m.sslSetFile(ctx, "cacert", "ca_file", sslCtx, file)
}

// SetSSLClientCert sends AT+CSSLCFG="clientcert",<ctx>,"<file>".
func (m *Modem) SetSSLClientCert(ctx context.Context, sslCtx int, file string) error {
	return m.sslSetFile(ctx, "clientcert", "clientcert_file", sslCtx, file)
}

// SetSSLClientKey sends AT+CSSLCFG="clientkey",<ctx>,"<file>".
func (m *Modem) SetSSLClientKey(ctx context.Context, sslCtx int, file string) error {
	return m.sslSetFile(ctx, "clientkey", "clientkey_file", sslCtx, file)
}

func (m *Modem) sslSetFile(ctx context.Context, key, param string, sslCtx int, file string) error {
	model := m.Model()
	if err := checkSSLContext(model, sslCtx); err != nil {
		return err
	}
	if err := checkCertName(model, param, file); err != nil {
		return err
	}
	return m.sslSet(ctx, key, sslCtx, quote(file))
}

func (m *Modem) sslSet(ctx context.Context, key string, sslCtx int, value string) error {
	_, err := m.exec(ctx, request{line: `AT+CSSLCFG="` + key + `",` + itoa(sslCtx) + "," + value, index: -1})
	return err
}

// SSLContextConfig is the configuration of one SSL context, as AT+CSSLCFG?
// and AT+CSSLCFG=<ctx> report it.
type SSLContextConfig struct {
	Context         int
	SSLVersion      int
	AuthMode        AuthMode
	IgnoreLocalTime bool
	NegotiateTime   time.Duration
	CACert          string // "" when none
	ClientCert      string
	ClientKey       string
}

// SSLConfig returns AT+CSSLCFG?: the configuration of every SSL context.
func (m *Modem) SSLConfig(ctx context.Context) ([]SSLContextConfig, error) {
	const line = "AT+CSSLCFG?"
	resp, err := m.exec(ctx, request{line: line, index: -1})
	if err != nil {
		return nil, err
	}
	var out []SSLContextConfig
	for _, l := range resp.lines {
		if !strings.HasPrefix(l, "+CSSLCFG") {
			continue
		}
		c, err := parseSSLContext(line, l)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// SSLContextConfig returns AT+CSSLCFG=<ctx>: the configuration of one SSL
// context (0-9).
func (m *Modem) SSLContextConfig(ctx context.Context, sslCtx int) (SSLContextConfig, error) {
	if err := checkSSLContext(m.Model(), sslCtx); err != nil {
		return SSLContextConfig{}, err
	}
	line := atLine("AT+CSSLCFG", sslCtx)
	resp, err := m.exec(ctx, request{line: line, index: -1})
	if err != nil {
		return SSLContextConfig{}, err
	}
	for _, l := range resp.lines {
		if strings.HasPrefix(l, "+CSSLCFG") {
			return parseSSLContext(line, l)
		}
	}
	return SSLContextConfig{}, unexpected(line, strings.Join(resp.lines, "\n"))
}

// parseSSLContext reads "+CSSLCFG: <ctx>,<ver>,<auth>,<ignore>,<negotiate>,
// <ca>,<cert>,<key>".
func parseSSLContext(cmd, l string) (SSLContextConfig, error) {
	f, ok := infoFields(l, "+CSSLCFG")
	if !ok || len(f) < 5 {
		return SSLContextConfig{}, unexpected(cmd, l)
	}
	var n [5]int
	for i := range n {
		v, ok := intField(f, i)
		if !ok {
			return SSLContextConfig{}, unexpected(cmd, l)
		}
		n[i] = v
	}
	c := SSLContextConfig{
		Context:         n[0],
		SSLVersion:      n[1],
		AuthMode:        AuthMode(n[2]),
		IgnoreLocalTime: n[3] == 1,
		NegotiateTime:   time.Duration(n[4]) * time.Second,
		CACert:          strField(f, 5),
		ClientCert:      strField(f, 6),
		ClientKey:       strField(f, 7),
	}
	return c, nil
}

// CertDownload sends AT+CCERTDOWN="<name>",<len> and the certificate or key
// (1-10240 bytes, PEM or DER) after the prompt, storing it on the modem
// under name (5-128 bytes, .pem or .der).
func (m *Modem) CertDownload(ctx context.Context, name string, data []byte) error {
	model := m.Model()
	if err := checkCertName(model, "filename", name); err != nil {
		return err
	}
	if err := checkLength(model, "len", len(data), model.Limits().CertSize); err != nil {
		return err
	}
	line := "AT+CCERTDOWN=" + quote(name) + "," + itoa(len(data))
	_, err := m.exec(ctx, request{line: line, data: data, index: -1, timeout: certTimeout})
	return err
}

// CertList returns AT+CCERTLIST: the certificate and key files on the modem.
func (m *Modem) CertList(ctx context.Context) ([]string, error) {
	resp, err := m.exec(ctx, request{line: "AT+CCERTLIST", index: -1})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range resp.lines {
		f, ok := infoFields(l, "+CCERTLIST")
		if !ok || len(f) == 0 {
			continue
		}
		names = append(names, strings.Join(f, ","))
	}
	return names, nil
}

// CertDelete deletes a certificate or key file from the modem with
// AT+CCERTDELE="<name>" (A7600) or AT+CCERTDELETE="<name>" (SIM7600). With
// AutoDetect it asks the modem its model first.
func (m *Modem) CertDelete(ctx context.Context, name string) error {
	model := m.Model()
	if model == AutoDetect {
		var err error
		if model, err = m.DetectModel(ctx); err != nil {
			return err
		}
	}
	if err := checkCertName(model, "filename", name); err != nil {
		return err
	}
	_, err := m.exec(ctx, request{line: model.Limits().CertDeleteCmd + "=" + quote(name), index: -1})
	return err
}
