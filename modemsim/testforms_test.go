package modemsim

import (
	"strings"
	"testing"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// TestTestForms checks every test command (AT+CMD=?) against the text the
// model's manual prints, byte for byte, before and after AT+CMQTTSTART (test
// forms do not need the service), on firmware without the MQTT version
// selection, which the manuals do not have (TestVersionTestForms).
func TestTestForms(t *testing.T) {
	manual := map[simcom.Model][][2]string{
		simcom.A7600: {
			{"AT+CMQTTACCQ=?", "+CMQTTACCQ: (0-1),(1-128)[,(0-1)]"},
			{"AT+CMQTTREL=?", "+CMQTTREL: (0-1)"},
			{"AT+CMQTTSSLCFG=?", "+CMQTTSSLCFG: (0,1),(0-9)"},
			{"AT+CMQTTWILLTOPIC=?", "+CMQTTWILLTOPIC: (0-1),(1-1024)"},
			{"AT+CMQTTWILLMSG=?", "+CMQTTWILLMSG: (0-1),(1-1024),(0-2)"},
			{"AT+CMQTTCONNECT=?", "+CMQTTCONNECT: (0-1),(9-256),(1-64800),(0-1)[,<user_name>,<pass_word>]"},
			{"AT+CMQTTDISC=?", "+CMQTTDISC: (0-1),(0, 60-180)"},
			{"AT+CMQTTTOPIC=?", "+CMQTTTOPIC: (0-1),(1-1024)"},
			{"AT+CMQTTPAYLOAD=?", "+CMQTTPAYLOAD: (0-1),(1-10240)"},
			{"AT+CMQTTPUB=?", "+CMQTTPUB: (0-1),(0-2),(60-180),(0-1),(0-1)"},
			{"AT+CMQTTSUBTOPIC=?", "+CMQTTSUBTOPIC: (0-1),(1-1024),(0-2)"},
			{"AT+CMQTTSUB=?", "+CMQTTSUB: (0-1),(0-1024),(0-2),(0-1)"},
			{"AT+CMQTTUNSUBTOPIC=?", "+CMQTTUNSUBTOPIC: (0-1),(1-1024)"},
			{"AT+CMQTTUNSUB=?", "+CMQTTUNSUB: (0-1),(0-1024),(0-1)"},
			{"AT+CMQTTCFG=?", "+CMQTTCFG: \"checkUTF8\",(0-1),(0-1)\r\n+CMQTTCFG: \"optimeout\",(0-1),(20-120)"},
			{"AT+CCERTDOWN=?", "+CCERTDOWN: (5-128),(1-10240)"},
		},
		simcom.SIM7600: {
			{"AT+CMQTTACCQ=?", "+CMQTTACCQ: (0-1),(1-23),(0-1)"},
			{"AT+CMQTTREL=?", "+CMQTTREL: (0-1)"},
			{"AT+CMQTTSSLCFG=?", "+CMQTTSSLCFG: (0,1),(0-9)"},
			{"AT+CMQTTWILLTOPIC=?", "+CMQTTWILLTOPIC: (0-1),(1-1024)"},
			{"AT+CMQTTWILLMSG=?", "+CMQTTWILLMSG: (0-1),(1-10240),(0-2)"},
			{"AT+CMQTTCONNECT=?", "+CMQTTCONNECT: (0-1),(9-256),(60-64800),(0-1)"},
			{"AT+CMQTTDISC=?", "+CMQTTDISC: (0-1),(0, 60-180)"},
			{"AT+CMQTTTOPIC=?", "+CMQTTTOPIC: (0-1),(1-1024)"},
			{"AT+CMQTTPAYLOAD=?", "+CMQTTPAYLOAD: (0-1),(1-10240)"},
			{"AT+CMQTTPUB=?", "+CMQTTPUB: (0-1),(0-2),(60-180),(0-1),(0-1)"},
			{"AT+CMQTTSUBTOPIC=?", "+CMQTTSUBTOPIC: (0-1),(1-1024)"},
			{"AT+CMQTTSUB=?", "+CMQTTSUB: (0-1),(0-1024),(0-2),(0-1)"},
			{"AT+CMQTTUNSUBTOPIC=?", "+CMQTTUNSUBTOPIC: (0-1),(1-1024)"},
			{"AT+CMQTTUNSUB=?", "+CMQTTUNSUB: (0-1),(0-1024),(0-1)"},
			{"AT+CMQTTCFG=?", "+CMQTTCFG: \"checkUTF8\",(0-1),(0-1)"},
			{"AT+CSSLCFG=?", strings.Join([]string{
				`+CSSLCFG: "sslversion",(0-9),(0-4)`,
				`+CSSLCFG: "authmode",(0-9),(0-3)`,
				`+CSSLCFG: "ignorelocaltime",(0-9),(0,1)`,
				`+CSSLCFG: "negotiatetime",(0-9),(10-300)`,
				`+CSSLCFG: "cacert",(0-9),(5-128)`,
				`+CSSLCFG: "clientcert",(0-9),(5-128)`,
				`+CSSLCFG: "clientkey",(0-9),(5-128)`,
			}, "\r\n")},
			{"AT+CCERTDOWN=?", "+CCERTDOWN: (5-128),(1-10240)"},
		},
	}
	for model, forms := range manual {
		t.Run(model.String(), func(t *testing.T) {
			s, h := startSim(t, Config{Model: model, Echo: EchoOff, RefuseVersionSelection: true})
			for _, started := range []bool{false, true} {
				for _, f := range forms {
					h.cmd(f[0], "\r\n"+f[1]+"\r\n\r\nOK\r\n")
					// The firmware's parser ignores case and spaces.
					h.cmd(" at"+strings.ToLower(f[0][2:len(f[0])-2])+" = ? ", "\r\n"+f[1]+"\r\n\r\nOK\r\n")
				}
				if !started {
					h.cmd("AT+CMQTTSTART", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n")
				}
			}
			// Execute-only commands answer their test form with OK.
			h.cmd("AT+CMQTTSTART=?", "\r\nOK\r\n")
			h.cmd("AT+CMQTTSTOP=?", "\r\nOK\r\n")
			h.cmd("AT+CCERTLIST=?", "\r\nOK\r\n")
			h.quiet(s)
		})
	}
}

// TestCertDeleteNamePerModel: the delete command is AT+CCERTDELE on the
// A7600 and AT+CCERTDELETE on the SIM7600; the other name is ERROR.
func TestCertDeleteNamePerModel(t *testing.T) {
	for _, tc := range []struct {
		model      simcom.Model
		good, flaw string
	}{
		{simcom.A7600, "AT+CCERTDELE", "AT+CCERTDELETE"},
		{simcom.SIM7600, "AT+CCERTDELETE", "AT+CCERTDELE"},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			s, h := startSim(t, Config{Model: tc.model, Echo: EchoOff})
			h.data(`AT+CCERTDOWN="a.pem",3`, "abc", "\r\nOK\r\n")
			h.cmd(tc.flaw+`="a.pem"`, "\r\nERROR\r\n")
			h.cmd(tc.flaw+"=?", "\r\nERROR\r\n")
			h.cmd(tc.good+"=?", "\r\nOK\r\n")
			h.cmd("AT+CCERTLIST", "\r\n+CCERTLIST: \"a.pem\"\r\n\r\nOK\r\n")
			h.cmd(tc.good+`="a.pem"`, "\r\nOK\r\n")
			h.cmd(tc.good+`="a.pem"`, "\r\nERROR\r\n")
			h.cmd("AT+CCERTLIST", "\r\nOK\r\n")
			h.quiet(s)
		})
	}
}
