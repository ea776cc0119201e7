package atmodem

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The basic and network bring-up commands a driver needs before MQTT (the
// manuals' chapter 3 preamble): AT, ATE0, ATI, AT+CGMM, AT+CGSN, AT+CPIN?,
// AT+CSQ, AT+CREG?/CGREG?/CEREG?, AT+CGDCONT, AT+CGSOCKCONT, AT+CGPADDR.

// Ping sends AT and expects OK.
func (m *Modem) Ping(ctx context.Context) error {
	_, err := m.exec(ctx, request{line: "AT", index: -1})
	return err
}

// EchoOff sends ATE0: the modem stops echoing command lines.
func (m *Modem) EchoOff(ctx context.Context) error {
	_, err := m.exec(ctx, request{line: "ATE0", index: -1})
	return err
}

// Identity is what ATI reports.
type Identity struct {
	Manufacturer string // e.g. "SIMCOM INCORPORATED"
	Model        string // e.g. "A7670E-LASE", "SIMCOM_SIM7600E-H"
	Revision     string // firmware revision
	IMEI         string
}

// Identity sends ATI and reads its "Key: value" lines.
func (m *Modem) Identity(ctx context.Context) (Identity, error) {
	resp, err := m.exec(ctx, request{line: "ATI", index: -1})
	if err != nil {
		return Identity{}, err
	}
	var id Identity
	for _, l := range resp.lines {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "manufacturer":
			id.Manufacturer = v
		case "model":
			id.Model = v
		case "revision":
			id.Revision = v
		case "imei":
			id.IMEI = v
		}
	}
	return id, nil
}

// ModelName sends AT+CGMM and returns the model name, e.g. "A7670E-LASE".
func (m *Modem) ModelName(ctx context.Context) (string, error) {
	resp, err := m.exec(ctx, request{line: "AT+CGMM", index: -1})
	if err != nil {
		return "", err
	}
	for _, l := range resp.lines {
		if l = strings.TrimSpace(strings.TrimPrefix(l, "+CGMM:")); l != "" {
			return l, nil
		}
	}
	return "", unexpected("AT+CGMM", "")
}

// ModelFamily maps a model name (ATI "Model:" or AT+CGMM) to its family:
// A76xx names are A7600, SIM75xx/SIM76xx/SIM78xx names are SIM7600. ok is
// false for other names.
func ModelFamily(name string) (Model, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "SIMCOM_")
	switch {
	case strings.HasPrefix(n, "A76"):
		return A7600, true
	case strings.HasPrefix(n, "SIM75"), strings.HasPrefix(n, "SIM76"), strings.HasPrefix(n, "SIM78"):
		return SIM7600, true
	}
	return AutoDetect, false
}

// DetectModel asks the modem its model (ATI, then AT+CGMM when ATI names
// none it knows), remembers the family for every later limit check and
// returns it.
func (m *Modem) DetectModel(ctx context.Context) (Model, error) {
	var names []string
	id, err := m.Identity(ctx)
	if err == nil && id.Model != "" {
		if fam, ok := ModelFamily(id.Model); ok {
			m.setModel(fam)
			return fam, nil
		}
		names = append(names, id.Model)
	}
	name, err2 := m.ModelName(ctx)
	if err2 == nil {
		if fam, ok := ModelFamily(name); ok {
			m.setModel(fam)
			return fam, nil
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return AutoDetect, fmt.Errorf("atmodem: detect model: %w", errors.Join(err, err2))
	}
	return AutoDetect, fmt.Errorf("atmodem: detect model: unknown model %q (want A76xx or SIM75xx/76xx/78xx)", strings.Join(names, ", "))
}

// IMEI returns the modem's IMEI with AT+CGSN, or AT+SIMEI? when AT+CGSN
// fails (some SIM7600 firmware).
func (m *Modem) IMEI(ctx context.Context) (string, error) {
	resp, err := m.exec(ctx, request{line: "AT+CGSN", index: -1})
	if err == nil {
		for _, l := range resp.lines {
			if l = strings.TrimSpace(strings.TrimPrefix(l, "+CGSN:")); isDigits(l) {
				return l, nil
			}
		}
	}
	resp, err2 := m.exec(ctx, request{line: "AT+SIMEI?", index: -1})
	if err2 != nil {
		return "", errors.Join(err, err2)
	}
	for _, l := range resp.lines {
		if f, ok := infoFields(l, "+SIMEI"); ok && len(f) == 1 && isDigits(f[0]) {
			return f[0], nil
		}
	}
	return "", unexpected("AT+SIMEI?", strings.Join(resp.lines, "\n"))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// SIMState returns the <code> of AT+CPIN?: "READY", "SIM PIN", "SIM PUK" ...
func (m *Modem) SIMState(ctx context.Context) (string, error) {
	resp, err := m.exec(ctx, request{line: "AT+CPIN?", index: -1})
	if err != nil {
		return "", err
	}
	for _, l := range resp.lines {
		if f, ok := infoFields(l, "+CPIN"); ok && len(f) > 0 {
			return f[0], nil
		}
	}
	return "", unexpected("AT+CPIN?", strings.Join(resp.lines, "\n"))
}

// Signal is the answer of AT+CSQ.
type Signal struct {
	RSSI int // 0-31, 99 unknown
	BER  int // 0-7, 99 unknown
}

// DBm converts RSSI to dBm (0 is -113 dBm or less, 31 is -51 dBm or more);
// ok is false when the modem does not know (99).
func (s Signal) DBm() (dbm int, ok bool) {
	if s.RSSI < 0 || s.RSSI > 31 {
		return 0, false
	}
	return -113 + 2*s.RSSI, true
}

// SignalQuality sends AT+CSQ.
func (m *Modem) SignalQuality(ctx context.Context) (Signal, error) {
	resp, err := m.exec(ctx, request{line: "AT+CSQ", index: -1})
	if err != nil {
		return Signal{}, err
	}
	for _, l := range resp.lines {
		f, ok := infoFields(l, "+CSQ")
		if !ok {
			continue
		}
		rssi, ok1 := intField(f, 0)
		ber, ok2 := intField(f, 1)
		if !ok1 || !ok2 {
			return Signal{}, unexpected("AT+CSQ", l)
		}
		return Signal{RSSI: rssi, BER: ber}, nil
	}
	return Signal{}, unexpected("AT+CSQ", strings.Join(resp.lines, "\n"))
}

// RegKind selects the registration to ask for.
type RegKind int

// The registrations of 3GPP TS 27.007.
const (
	RegCS   RegKind = iota // AT+CREG? circuit switched
	RegGPRS                // AT+CGREG? GPRS (packet, 2G/3G)
	RegEPS                 // AT+CEREG? EPS (packet, LTE)
)

func (k RegKind) command() string {
	switch k {
	case RegGPRS:
		return "+CGREG"
	case RegEPS:
		return "+CEREG"
	}
	return "+CREG"
}

// RegStatus is the <stat> of AT+CREG?, AT+CGREG? and AT+CEREG?.
type RegStatus int

// The registration states.
const (
	RegNotRegistered     RegStatus = 0 // not registered, not searching
	RegRegisteredHome    RegStatus = 1 // registered, home network
	RegSearching         RegStatus = 2 // not registered, searching
	RegDenied            RegStatus = 3 // registration denied
	RegUnknown           RegStatus = 4 // unknown
	RegRegisteredRoaming RegStatus = 5 // registered, roaming
)

// Registered reports whether s is registered (home or roaming).
func (s RegStatus) Registered() bool { return s == RegRegisteredHome || s == RegRegisteredRoaming }

// String names the state.
func (s RegStatus) String() string {
	switch s {
	case RegNotRegistered:
		return "not registered"
	case RegRegisteredHome:
		return "registered (home)"
	case RegSearching:
		return "searching"
	case RegDenied:
		return "denied"
	case RegUnknown:
		return "unknown"
	case RegRegisteredRoaming:
		return "registered (roaming)"
	}
	return fmt.Sprintf("RegStatus(%d)", int(s))
}

// Registration asks AT+CREG?, AT+CGREG? or AT+CEREG? and returns <stat>.
func (m *Modem) Registration(ctx context.Context, kind RegKind) (RegStatus, error) {
	prefix := kind.command()
	line := "AT" + prefix + "?"
	resp, err := m.exec(ctx, request{line: line, index: -1})
	if err != nil {
		return RegUnknown, err
	}
	for _, l := range resp.lines {
		f, ok := infoFields(l, prefix)
		if !ok {
			continue
		}
		stat, ok := intField(f, 1)
		if !ok {
			return RegUnknown, unexpected(line, l)
		}
		return RegStatus(stat), nil
	}
	return RegUnknown, unexpected(line, strings.Join(resp.lines, "\n"))
}

// WaitNetwork polls AT+CEREG?, AT+CGREG? and AT+CREG? until the modem is
// registered for packet data (EPS or GPRS; CS as the last resort on
// firmware that answers neither), home or roaming, or ctx ends. The polls
// start 100 ms apart and slow down to 2 s.
func (m *Modem) WaitNetwork(ctx context.Context) error {
	wait := 100 * time.Millisecond
	var last error
	for {
		answered := false
		for _, k := range []RegKind{RegEPS, RegGPRS, RegCS} {
			if k == RegCS && answered {
				break
			}
			st, err := m.Registration(ctx, k)
			if errors.Is(err, ErrClosed) || errors.Is(err, ErrModemReset) {
				return fmt.Errorf("atmodem: wait for network: %w", err)
			}
			if err != nil {
				last = err
				continue
			}
			answered = true
			if st.Registered() {
				return nil
			}
			last = fmt.Errorf("atmodem: %s: %s", k.command()[1:], st)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("atmodem: wait for network: %w (last: %v)", ctx.Err(), last)
		case <-t.C:
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// PDP types of AT+CGDCONT and AT+CGSOCKCONT.
var pdpTypes = []string{"IP", "IPV6", "IPV4V6", "PPP"}

// CheckPDP validates the parameters of SetAPN and SetSocketAPN (cid 1-24,
// a known PDP type, an APN of printable ASCII up to 100 bytes) without
// writing anything; they are the same for every model family.
func CheckPDP(cid int, pdpType, apn string) error {
	return checkPDP(AutoDetect, cid, pdpType, apn)
}

func checkPDP(model Model, cid int, pdpType, apn string) error {
	if err := checkRange(model, "cid", cid, Range{Min: 1, Max: 24}, ""); err != nil {
		return err
	}
	ok := false
	for _, t := range pdpTypes {
		ok = ok || t == pdpType
	}
	if !ok {
		return paramErr(model, "PDP_type", "%q is not one of %s", pdpType, strings.Join(pdpTypes, ", "))
	}
	if err := checkLength(model, "APN", len(apn), Range{Min: 0, Max: 100}); err != nil {
		return err
	}
	return checkQuoted(model, "APN", apn, asciiOnly)
}

// SetAPN sends AT+CGDCONT=<cid>,"<type>","<apn>": the PDP context the MQTT
// service activates (manual 1.2 step 2). pdpType is "IP", "IPV6", "IPV4V6"
// or "PPP".
func (m *Modem) SetAPN(ctx context.Context, cid int, pdpType, apn string) error {
	return m.setPDP(ctx, "AT+CGDCONT", cid, pdpType, apn)
}

// SetSocketAPN sends AT+CGSOCKCONT=<cid>,"<type>","<apn>", the socket PDP
// context of the manuals' chapter 3 preamble.
func (m *Modem) SetSocketAPN(ctx context.Context, cid int, pdpType, apn string) error {
	return m.setPDP(ctx, "AT+CGSOCKCONT", cid, pdpType, apn)
}

func (m *Modem) setPDP(ctx context.Context, cmd string, cid int, pdpType, apn string) error {
	if err := checkPDP(m.Model(), cid, pdpType, apn); err != nil {
		return err
	}
	_, err := m.exec(ctx, request{line: cmd + "=" + itoa(cid) + "," + quote(pdpType) + "," + quote(apn), index: -1})
	return err
}

// PDPAddress is one line of AT+CGPADDR.
type PDPAddress struct {
	CID   int
	Addrs []string // "0.0.0.0" when the context has no address
}

// PDPAddresses sends AT+CGPADDR: the addresses of every PDP context.
func (m *Modem) PDPAddresses(ctx context.Context) ([]PDPAddress, error) {
	return queryLines(ctx, m, "AT+CGPADDR", "+CGPADDR", func(f []string) (PDPAddress, bool) {
		cid, ok := intField(f, 0)
		if !ok {
			return PDPAddress{}, false
		}
		return PDPAddress{CID: cid, Addrs: f[1:]}, true
	})
}
