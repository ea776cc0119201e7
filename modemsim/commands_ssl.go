package modemsim

import (
	"fmt"
	"strings"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// sslHandlers are the SSL context and certificate commands (SIM7600 manual
// 2.1; the A7600 has the same in its SSL manual). The delete command is
// per model: AT+CCERTDELE (A7600) or AT+CCERTDELETE (SIM7600).
var sslHandlers = map[string]handler{
	"+CSSLCFG":   cmdCSSLCfg,
	"+CCERTDOWN": cmdCertDown,
	"+CCERTLIST": cmdCertList,
}

var (
	sslVersionRange = simcom.Range{Min: 0, Max: 4}
	authModeRange   = simcom.Range{Min: 0, Max: 3}
)

// sslLine is one context in the read form of AT+CSSLCFG.
func sslLine(i int, c sslContext) string {
	return fmt.Sprintf(`+CSSLCFG: %d,%d,%d,%d,%d,"%s","%s","%s"`, i, c.Version, c.AuthMode,
		b2i(c.IgnoreLocalTime), c.NegotiateTime, c.CACert, c.ClientCert, c.ClientKey)
}

// cmdCSSLCfg is AT+CSSLCFG: read all contexts, query one
// (AT+CSSLCFG=<ctx>), or set one key of one context.
func cmdCSSLCfg(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch c.Form {
	case formRead:
		for i, ctx := range s.st.ssl {
			r.line(sslLine(i, ctx))
		}
		r.ok()
		return nil
	case formWrite:
	default:
		r.error()
		return nil
	}
	if len(c.Params) == 1 {
		i, ok := intIn(c.Params[0], s.d.limits.SSLContext)
		if !ok {
			r.error()
			return nil
		}
		r.line(sslLine(i, s.st.ssl[i]))
		r.ok()
		return nil
	}
	if len(c.Params) != 3 || !c.Params[0].Quoted {
		r.error()
		return nil
	}
	i, ok := intIn(c.Params[1], s.d.limits.SSLContext)
	if !ok {
		r.error()
		return nil
	}
	ctx := &s.st.ssl[i]
	val := c.Params[2]
	switch key := strings.ToLower(c.Params[0].Text); key {
	case "sslversion":
		v, ok := intIn(val, sslVersionRange)
		if !ok {
			r.error()
			return nil
		}
		ctx.Version = v
	case "authmode":
		v, ok := intIn(val, authModeRange)
		if !ok {
			r.error()
			return nil
		}
		ctx.AuthMode = v
	case "ignorelocaltime", "ignorlocaltime": // the A7600 manual's spelling too
		v, ok := intIn(val, bitRange)
		if !ok {
			r.error()
			return nil
		}
		ctx.IgnoreLocalTime = v == 1
	case "negotiatetime":
		v, ok := intIn(val, s.d.limits.NegotiateTime)
		if !ok {
			r.error()
			return nil
		}
		ctx.NegotiateTime = v
	case "cacert", "clientcert", "clientkey":
		if !val.Quoted {
			r.error()
			return nil
		}
		name, ok := certFileName(val.Text)
		if !ok {
			r.error()
			return nil
		}
		switch key {
		case "cacert":
			ctx.CACert = name
		case "clientcert":
			ctx.ClientCert = name
		default:
			ctx.ClientKey = name
		}
	default:
		r.error()
		return nil
	}
	r.ok()
	return nil
}

// cmdCertDown is AT+CCERTDOWN=<filename>,<len>: a prompt, then exactly len
// bytes of the file.
func cmdCertDown(s *Sim, c atCommand, r *reply) error {
	if c.Form != formWrite || len(c.Params) != 2 || !c.Params[0].Quoted {
		r.error()
		return nil
	}
	name, ok1 := certFileName(c.Params[0].Text)
	n, ok2 := intIn(c.Params[1], s.d.limits.CertSize)
	if !ok1 || !ok2 {
		r.error()
		return nil
	}
	data, err := r.prompt(n)
	if err != nil {
		return err
	}
	s.certs.put(name, data)
	r.ok()
	return nil
}

// cmdCertList is AT+CCERTLIST.
func cmdCertList(s *Sim, c atCommand, r *reply) error {
	if c.Form != formExec {
		r.error()
		return nil
	}
	for _, n := range s.certs.names() {
		r.line(`+CCERTLIST: "` + n + `"`)
	}
	r.ok()
	return nil
}

// cmdCertDelete is AT+CCERTDELE (A7600) / AT+CCERTDELETE (SIM7600).
func cmdCertDelete(s *Sim, c atCommand, r *reply) error {
	if c.Form != formWrite || len(c.Params) != 1 || !c.Params[0].Quoted {
		r.error()
		return nil
	}
	name, ok := certFileName(c.Params[0].Text)
	if !ok || !s.certs.remove(name) {
		r.error()
		return nil
	}
	r.ok()
	return nil
}
