package simcom

import "fmt"

// Model is a SIMCom modem family. The two families differ in limits, in
// some command names and in the order of some responses (docs/architecture.md,
// The two model families).
type Model int

// The model families.
const (
	// AutoDetect asks the modem (ATI / AT+CGMM) which family it is.
	AutoDetect Model = iota
	// A7600 is the A7600 series (A7670, A7672, A7608 ...), manual 000_.
	A7600
	// SIM7600 is the SIM7500/SIM7600/SIM7800 series, manual 001_.
	SIM7600
)

// String names the model family.
func (m Model) String() string {
	switch m {
	case AutoDetect:
		return "auto-detect"
	case A7600:
		return "A7600"
	case SIM7600:
		return "SIM7600"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// Range is an inclusive integer range of a manual.
type Range struct{ Min, Max int }

// Contains reports whether v is in r.
func (r Range) Contains(v int) bool { return v >= r.Min && v <= r.Max }

// String prints the range as the manuals do, e.g. "1-128".
func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// Limits are the parameter ranges of one model family.
type Limits struct {
	ClientID        Range // AT+CMQTTACCQ <clientID> length in bytes
	KeepAlive       Range // AT+CMQTTCONNECT <keepalive_time> in seconds
	WillMessage     Range // AT+CMQTTWILLMSG <req_length> in bytes
	Topic           Range // every topic: publish, subscribe, will, RX
	Payload         Range // AT+CMQTTPAYLOAD <req_length>
	ServerAddr      Range // AT+CMQTTCONNECT <server_addr> length
	UserName        Range // <user_name> length
	Password        Range // <pass_word> length
	PubTimeout      Range // AT+CMQTTPUB <pub_timeout> seconds
	DiscTimeout     Range // AT+CMQTTDISC <timeout> seconds (0 also allowed)
	OpTimeout       Range // AT+CMQTTCFG "optimeout" seconds; zero Range when unsupported
	SSLContext      Range // SSL context index
	ClientIndex     Range // MQTT client index
	CertName        Range // certificate file name length
	CertSize        Range // AT+CCERTDOWN <len>
	NegotiateTime   Range // AT+CSSLCFG "negotiatetime" seconds
	MaxResultCode   ResultCode
	HasOpTimeout    bool   // AT+CMQTTCFG "optimeout" exists
	CertDeleteCmd   string // "AT+CCERTDELE" or "AT+CCERTDELETE"
	SSLCfgClearedOn string // when AT+CMQTTSSLCFG is cleared: "connect-fail-or-disc" or "every-connect"
}

var shared = Limits{
	Topic:         Range{1, 1024},
	Payload:       Range{1, 10240},
	ServerAddr:    Range{9, 256},
	UserName:      Range{1, 256},
	Password:      Range{1, 256},
	PubTimeout:    Range{60, 180},
	DiscTimeout:   Range{60, 180},
	SSLContext:    Range{0, 9},
	ClientIndex:   Range{0, 1},
	CertName:      Range{5, 128},
	CertSize:      Range{1, 10240},
	NegotiateTime: Range{10, 300},
}

// Limits returns the parameter limits of the model family. AutoDetect gets
// the intersection of both families (the stricter limit of each), which is
// safe on either.
func (m Model) Limits() Limits {
	l := shared
	switch m {
	case A7600:
		l.ClientID = Range{1, 128}
		l.KeepAlive = Range{1, 64800}
		l.WillMessage = Range{1, 1024}
		l.OpTimeout = Range{20, 120}
		l.HasOpTimeout = true
		l.MaxResultCode = CodeDisconnectFailed
		l.CertDeleteCmd = "AT+CCERTDELE"
		l.SSLCfgClearedOn = "connect-fail-or-disc"
	case SIM7600:
		l.ClientID = Range{1, 23}
		l.KeepAlive = Range{60, 64800}
		l.WillMessage = Range{1, 10240}
		l.MaxResultCode = CodeCertNotSet
		l.CertDeleteCmd = "AT+CCERTDELETE"
		l.SSLCfgClearedOn = "every-connect"
	default:
		l.ClientID = Range{1, 23}
		l.KeepAlive = Range{60, 64800}
		l.WillMessage = Range{1, 1024}
		l.MaxResultCode = CodeDisconnectFailed
		l.CertDeleteCmd = "AT+CCERTDELETE"
		l.SSLCfgClearedOn = "every-connect"
	}
	return l
}
