package modemsim

import (
	"fmt"
	"slices"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// testForms are the answers to the test commands (AT+CMD=?) of each model,
// the information lines as the model's manual prints them. Only typesetting
// accidents of the PDFs are normalised: the stray space in "+ CMQTTSSLCFG"
// and in "< user_name >" / " optimeout ", the missing colon of "+CMQTTSUB
// (0-1)..." in the SIM7600 tables, and the misspelled names
// (AT+CMQTPPAYLOAD, AT+CMQTPUB) of the SIM7600 manual, whose examples and
// firmware use the CMQTT spelling (docs/architecture.md, The two model
// families). The brackets the A7600 manual prints for optional parts are kept
// as printed.
var testForms = map[simcom.Model]map[string][]string{
	simcom.A7600: {
		"+CMQTTSTART":      nil,
		"+CMQTTSTOP":       nil,
		"+CMQTTACCQ":       {"+CMQTTACCQ: (0-1),(1-128)[,(0-1)]"},
		"+CMQTTREL":        {"+CMQTTREL: (0-1)"},
		"+CMQTTSSLCFG":     {"+CMQTTSSLCFG: (0,1),(0-9)"},
		"+CMQTTWILLTOPIC":  {"+CMQTTWILLTOPIC: (0-1),(1-1024)"},
		"+CMQTTWILLMSG":    {"+CMQTTWILLMSG: (0-1),(1-1024),(0-2)"},
		"+CMQTTCONNECT":    {"+CMQTTCONNECT: (0-1),(9-256),(1-64800),(0-1)[,<user_name>,<pass_word>]"},
		"+CMQTTDISC":       {"+CMQTTDISC: (0-1),(0, 60-180)"},
		"+CMQTTTOPIC":      {"+CMQTTTOPIC: (0-1),(1-1024)"},
		"+CMQTTPAYLOAD":    {"+CMQTTPAYLOAD: (0-1),(1-10240)"},
		"+CMQTTPUB":        {"+CMQTTPUB: (0-1),(0-2),(60-180),(0-1),(0-1)"},
		"+CMQTTSUBTOPIC":   {"+CMQTTSUBTOPIC: (0-1),(1-1024),(0-2)"},
		"+CMQTTSUB":        {"+CMQTTSUB: (0-1),(0-1024),(0-2),(0-1)"},
		"+CMQTTUNSUBTOPIC": {"+CMQTTUNSUBTOPIC: (0-1),(1-1024)"},
		"+CMQTTUNSUB":      {"+CMQTTUNSUB: (0-1),(0-1024),(0-1)"},
		"+CMQTTCFG": {
			`+CMQTTCFG: "checkUTF8",(0-1),(0-1)`,
			`+CMQTTCFG: "optimeout",(0-1),(20-120)`,
		},
		// The A7600 MQTT manual defers the SSL commands to the A7600 SSL
		// manual; they answer like the SIM7600 ones.
		"+CSSLCFG":   sslTestForm,
		"+CCERTDOWN": {"+CCERTDOWN: (5-128),(1-10240)"},
		"+CCERTLIST": nil,
		"+CCERTDELE": nil,
	},
	simcom.SIM7600: {
		"+CMQTTSTART":      nil,
		"+CMQTTSTOP":       nil,
		"+CMQTTACCQ":       {"+CMQTTACCQ: (0-1),(1-23),(0-1)"},
		"+CMQTTREL":        {"+CMQTTREL: (0-1)"},
		"+CMQTTSSLCFG":     {"+CMQTTSSLCFG: (0,1),(0-9)"},
		"+CMQTTWILLTOPIC":  {"+CMQTTWILLTOPIC: (0-1),(1-1024)"},
		"+CMQTTWILLMSG":    {"+CMQTTWILLMSG: (0-1),(1-10240),(0-2)"},
		"+CMQTTCONNECT":    {"+CMQTTCONNECT: (0-1),(9-256),(60-64800),(0-1)"},
		"+CMQTTDISC":       {"+CMQTTDISC: (0-1),(0, 60-180)"},
		"+CMQTTTOPIC":      {"+CMQTTTOPIC: (0-1),(1-1024)"},
		"+CMQTTPAYLOAD":    {"+CMQTTPAYLOAD: (0-1),(1-10240)"},
		"+CMQTTPUB":        {"+CMQTTPUB: (0-1),(0-2),(60-180),(0-1),(0-1)"},
		"+CMQTTSUBTOPIC":   {"+CMQTTSUBTOPIC: (0-1),(1-1024)"},
		"+CMQTTSUB":        {"+CMQTTSUB: (0-1),(0-1024),(0-2),(0-1)"},
		"+CMQTTUNSUBTOPIC": {"+CMQTTUNSUBTOPIC: (0-1),(1-1024)"},
		"+CMQTTUNSUB":      {"+CMQTTUNSUB: (0-1),(0-1024),(0-1)"},
		"+CMQTTCFG":        {`+CMQTTCFG: "checkUTF8",(0-1),(0-1)`},
		"+CSSLCFG":         sslTestForm,
		"+CCERTDOWN":       {"+CCERTDOWN: (5-128),(1-10240)"},
		"+CCERTLIST":       nil,
		"+CCERTDELETE":     nil,
	},
}

// sslTestForm is AT+CSSLCFG=? of the SIM7600 manual (2.1.1).
var sslTestForm = []string{
	`+CSSLCFG: "sslversion",(0-9),(0-4)`,
	`+CSSLCFG: "authmode",(0-9),(0-3)`,
	`+CSSLCFG: "ignorelocaltime",(0-9),(0,1)`,
	`+CSSLCFG: "negotiatetime",(0-9),(10-300)`,
	`+CSSLCFG: "cacert",(0-9),(5-128)`,
	`+CSSLCFG: "clientcert",(0-9),(5-128)`,
	`+CSSLCFG: "clientkey",(0-9),(5-128)`,
}

// basicTestForms are the test answers of the basic commands; the same on
// both models.
var basicTestForms = map[string][]string{
	"+CGMM":       nil,
	"+CGMR":       nil,
	"+CGSN":       nil,
	"+SIMEI":      nil,
	"+CPIN":       nil,
	"+CSQ":        {"+CSQ: (0-31,99),(0-7,99)"},
	"+CREG":       {"+CREG: (0-2)"},
	"+CGREG":      {"+CGREG: (0-2)"},
	"+CEREG":      {"+CEREG: (0-2)"},
	"+CGDCONT":    {`+CGDCONT: (1-24),"IP",,,(0-2),(0-4),(0-1),(0-1)`, `+CGDCONT: (1-24),"PPP",,,(0-2),(0-4),(0-1),(0-1)`, `+CGDCONT: (1-24),"IPV6",,,(0-2),(0-4),(0-1),(0-1)`, `+CGDCONT: (1-24),"IPV4V6",,,(0-2),(0-4),(0-1),(0-1)`},
	"+CGSOCKCONT": {`+CGSOCKCONT: (1-24),"IP",,,(0-2),(0-4)`, `+CGSOCKCONT: (1-24),"PPP",,,(0-2),(0-4)`, `+CGSOCKCONT: (1-24),"IPV6",,,(0-2),(0-4)`, `+CGSOCKCONT: (1-24),"IPV4V6",,,(0-2),(0-4)`},
	"+CGPADDR":    {"+CGPADDR: (1-24)"},
	"+CRESET":     nil,
}

// versionTestForm is the test answer of the commands that select the MQTT
// protocol level, on firmware that has the selection: AT+CMQTTACCQ=? with
// its 4th field "(3-4)" as real A76xx units print it
// ("+CMQTTACCQ: (0-1),(1-128),(0-1),(3-4)"), and AT+CMQTTCFG=? with the
// "version" key. ok is false for other commands and other firmware (the
// manuals' forms).
func versionTestForm(d dialect, name string) ([]string, bool) {
	switch {
	case name == "+CMQTTACCQ" && d.selectVersion:
		return []string{fmt.Sprintf("+CMQTTACCQ: (0-1),(%d-%d),(0-1),(3-4)", d.limits.ClientID.Min, d.limits.ClientID.Max)}, true
	case name == "+CMQTTCFG" && d.cfgVersion:
		return append(slices.Clone(testForms[d.model][name]), `+CMQTTCFG: "version",(0-1),(3-4)`), true
	}
	return nil, false
}
