package modemsim

import (
	"fmt"
	"sort"
	"strconv"
)

// basicHandlers are the general commands a driver needs (docs/architecture.md,
// The emulator), identical on both models.
var basicHandlers = map[string]handler{
	"":            cmdAT,
	"E":           cmdEcho,
	"I":           cmdInfo,
	"Z":           cmdAT,
	"&F":          cmdAT,
	"&W":          cmdAT,
	"V":           cmdVerbose,
	"+CGMM":       cmdCGMM,
	"+CGMR":       cmdCGMR,
	"+CGSN":       cmdCGSN,
	"+SIMEI":      cmdSIMEI,
	"+CPIN":       cmdCPIN,
	"+CSQ":        cmdCSQ,
	"+CMEE":       cmdCMEE,
	"+CREG":       cmdReg,
	"+CGREG":      cmdReg,
	"+CEREG":      cmdReg,
	"+CGDCONT":    cmdPDP,
	"+CGSOCKCONT": cmdPDP,
	"+CGPADDR":    cmdCGPADDR,
	"+CRESET":     cmdCRESET,
}

// basicArg returns the numeric argument of a basic command (ATE1), def
// when absent.
func basicArg(c atCommand, def int) (int, bool) {
	if len(c.Params) == 0 {
		return def, true
	}
	return c.Params[0].int()
}

func cmdAT(s *Sim, c atCommand, r *reply) error {
	if c.Form != formExec || len(c.Params) > 1 {
		r.error()
		return nil
	}
	r.ok()
	return nil
}

func cmdVerbose(s *Sim, c atCommand, r *reply) error {
	// Only verbose result codes (ATV1) are emulated.
	if v, ok := basicArg(c, 0); !ok || v != 1 {
		r.error()
		return nil
	}
	r.ok()
	return nil
}

func cmdEcho(s *Sim, c atCommand, r *reply) error {
	v, ok := basicArg(c, 0)
	if !ok || v > 1 {
		r.error()
		return nil
	}
	s.mu.Lock()
	s.st.echo = v == 1 || s.cfg.EchoStuck
	s.mu.Unlock()
	r.ok()
	return nil
}

func cmdInfo(s *Sim, c atCommand, r *reply) error {
	if v, ok := basicArg(c, 0); !ok || v != 0 {
		r.error()
		return nil
	}
	r.line("Manufacturer: SIMCOM INCORPORATED")
	r.line("Model: " + s.d.product)
	r.line("Revision: " + s.d.firmware)
	r.line("IMEI: " + s.cfg.IMEI)
	r.line("+GCAP: +CGSM")
	r.ok()
	return nil
}

// execOnly answers the execute form with lines and ERROR otherwise.
func execOnly(c atCommand, r *reply, lines ...string) {
	if c.Form != formExec {
		r.error()
		return
	}
	for _, l := range lines {
		r.line(l)
	}
	r.ok()
}

func cmdCGMM(s *Sim, c atCommand, r *reply) error { execOnly(c, r, s.d.product); return nil }
func cmdCGMR(s *Sim, c atCommand, r *reply) error {
	execOnly(c, r, "+CGMR: "+s.d.firmware)
	return nil
}
func cmdCGSN(s *Sim, c atCommand, r *reply) error { execOnly(c, r, s.cfg.IMEI); return nil }

func cmdSIMEI(s *Sim, c atCommand, r *reply) error {
	if c.Form != formRead {
		r.error()
		return nil
	}
	r.line("+SIMEI: " + s.cfg.IMEI)
	r.ok()
	return nil
}

func cmdCPIN(s *Sim, c atCommand, r *reply) error {
	if c.Form != formRead {
		r.error()
		return nil
	}
	r.line("+CPIN: READY")
	r.ok()
	return nil
}

func cmdCSQ(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	up := s.st.network
	s.mu.Unlock()
	if up {
		execOnly(c, r, "+CSQ: 23,0")
	} else {
		execOnly(c, r, "+CSQ: 99,99")
	}
	return nil
}

// cmdCMEE is AT+CMEE (27.007 error reporting). The setting is kept for the
// read form only: the emulator's errors are always a bare ERROR, as with
// AT+CMEE=0, which is how the MQTT result codes are reported anyway.
func cmdCMEE(s *Sim, c atCommand, r *reply) error {
	switch c.Form {
	case formTest:
		r.line("+CMEE: (0-2)")
	case formRead:
		s.mu.Lock()
		n := s.st.cmee
		s.mu.Unlock()
		r.line("+CMEE: " + strconv.Itoa(n))
	case formWrite:
		n, ok := basicArg(c, 0)
		if !ok || n < 0 || n > 2 || len(c.Params) != 1 {
			r.error()
			return nil
		}
		s.mu.Lock()
		s.st.cmee = n
		s.mu.Unlock()
	default:
		r.error()
		return nil
	}
	r.ok()
	return nil
}

// cmdReg is AT+CREG, AT+CGREG and AT+CEREG: <n> 0-2 is kept; the modem is
// registered at home (stat 1) unless NoNetwork took the data network down
// (stat 2, searching, for CGREG and CEREG).
func cmdReg(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch c.Form {
	case formRead:
		stat := 1
		if !s.st.network && c.Name != "+CREG" {
			stat = 2
		}
		r.line(fmt.Sprintf("%s: %d,%d", c.Name, s.st.regMode[c.Name], stat))
		r.ok()
	case formWrite:
		if len(c.Params) != 1 {
			r.error()
			return nil
		}
		n, ok := c.Params[0].int()
		if !ok || n > 2 {
			r.error()
			return nil
		}
		s.st.regMode[c.Name] = n
		r.ok()
	default:
		r.error()
	}
	return nil
}

// cmdPDP is AT+CGDCONT and AT+CGSOCKCONT: one table of PDP contexts 1-24.
func cmdPDP(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch c.Form {
	case formRead:
		cids := make([]int, 0, len(s.st.pdp))
		for cid := range s.st.pdp {
			cids = append(cids, cid)
		}
		sort.Ints(cids)
		for _, cid := range cids {
			p := s.st.pdp[cid]
			if c.Name == "+CGDCONT" {
				r.line(fmt.Sprintf(`+CGDCONT: %d,"%s","%s","0.0.0.0",0,0,0,0`, cid, p.pdpType, p.apn))
			} else {
				r.line(fmt.Sprintf(`+CGSOCKCONT: %d,"%s","%s","0.0.0.0",0,0`, cid, p.pdpType, p.apn))
			}
		}
		r.ok()
	case formWrite:
		if len(c.Params) < 1 {
			r.error()
			return nil
		}
		cid, ok := c.Params[0].int()
		if !ok || cid < 1 || cid > 24 {
			r.error()
			return nil
		}
		if len(c.Params) == 1 { // undefine the context
			delete(s.st.pdp, cid)
			r.ok()
			return nil
		}
		typ := c.Params[1]
		switch typ.Text {
		case "IP", "PPP", "IPV6", "IPV4V6":
		default:
			r.error()
			return nil
		}
		if !typ.Quoted {
			r.error()
			return nil
		}
		apn := ""
		if len(c.Params) > 2 {
			if !c.Params[2].Quoted && !c.Params[2].empty() {
				r.error()
				return nil
			}
			apn = c.Params[2].Text
		}
		s.st.pdp[cid] = pdpContext{pdpType: typ.Text, apn: apn}
		r.ok()
	default:
		r.error()
	}
	return nil
}

// pdpAddress is the address of an active context (cid 1 while the data
// network is up).
func (s *Sim) pdpAddress(cid int) string {
	if cid == 1 && s.st.network {
		return "10.49.14.68"
	}
	return "0.0.0.0"
}

func cmdCGPADDR(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch c.Form {
	case formExec:
		cids := make([]int, 0, len(s.st.pdp))
		for cid := range s.st.pdp {
			cids = append(cids, cid)
		}
		sort.Ints(cids)
		for _, cid := range cids {
			r.line("+CGPADDR: " + strconv.Itoa(cid) + "," + s.pdpAddress(cid))
		}
		r.ok()
	case formWrite:
		var lines []string
		for _, p := range c.Params {
			cid, ok := p.int()
			if _, defined := s.st.pdp[cid]; !ok || !defined {
				r.error()
				return nil
			}
			lines = append(lines, "+CGPADDR: "+strconv.Itoa(cid)+","+s.pdpAddress(cid))
		}
		for _, l := range lines {
			r.line(l)
		}
		r.ok()
	default:
		r.error()
	}
	return nil
}

// cmdCRESET answers OK, then the modem reboots.
func cmdCRESET(s *Sim, c atCommand, r *reply) error {
	if c.Form != formExec {
		r.error()
		return nil
	}
	r.ok()
	s.reboot()
	return nil
}
