package modemsim

import "github.com/cellmqtt/cellmqtt/internal/simcom"

// dialect is what differs between the two model families
// (docs/architecture.md, The two model families and How real firmware
// behaves), resolved once from the Config.
type dialect struct {
	model  simcom.Model
	limits simcom.Limits

	// resultFirst writes the "+CMQTTSTART: 0", "+CMQTTSTOP: 0" and
	// "+CMQTTDISC: i,0" results before OK instead of after it. The A7600
	// manual has OK first for START and STOP; the SIM7600 manual allows both
	// orders (Config.ResultBeforeOK picks one, deterministically).
	resultFirst bool
	// startAgainCode: AT+CMQTTSTART when started answers "+CMQTTSTART: 23"
	// then ERROR (SIM7600) instead of a bare ERROR (A7600/A7672).
	startAgainCode bool
	// sslClearedEveryConnect: AT+CMQTTSSLCFG is cleared after every
	// CONNECT (SIM7600) instead of after a failed CONNECT or a DISC (A7600).
	sslClearedEveryConnect bool
	// openSessionFail: an immediate CONNECT failure is "+CMQTTCONNECT: i,34"
	// then ERROR, and a failed DISC reports 35 (A7600 only).
	openSessionFail bool
	// stopWithClientsCode is the code of "+CMQTTSTOP: <code>" then ERROR
	// when AT+CMQTTSTOP finds a client still acquired: 21 (client not
	// released) on the SIM7600, 19 (client is used) on the A7600 family.
	stopWithClientsCode simcom.ResultCode
	// stopWithClientsStops: that refused STOP still stops the service when
	// no client is connected, leaving the clients acquired (A7600 family).
	stopWithClientsStops bool
	// refuseSubTopic: AT+CMQTTSUBTOPIC answers ERROR (some A7670 firmware).
	refuseSubTopic bool
	// cfgOpTimeout: AT+CMQTTCFG has the "optimeout" key (A7600).
	cfgOpTimeout bool
	// selectVersion: AT+CMQTTACCQ takes a 4th field, the MQTT protocol
	// level 3 or 4 (both families, unless Config.RefuseVersionSelection).
	selectVersion bool
	// cfgVersion: AT+CMQTTCFG has the "version" key (A7600 family, unless
	// Config.RefuseVersionSelection).
	cfgVersion bool
	// protocol is the MQTT protocol level CONNECT uses when the host chose
	// none: 3 (MQTT 3.1) unless Config.DefaultProtocolLevel says otherwise.
	protocol byte
	// certDelete is the name of the delete-certificate command.
	certDelete string
	// nonet is the URC of a lost data network.
	nonet string
	// product is the model name of AT+CGMM and ATI.
	product string
	// firmware is the revision of AT+CGMR and ATI.
	firmware string
	// boot is the sequence of lines a reboot prints.
	boot []string
	// bootNUL puts a NUL byte before the boot messages.
	bootNUL bool
}

func newDialect(cfg Config) dialect {
	d := dialect{model: cfg.Model, limits: cfg.Model.Limits(), refuseSubTopic: cfg.RefuseSubTopic, bootNUL: cfg.BootNUL}
	switch cfg.Model {
	case simcom.SIM7600:
		d.resultFirst = cfg.ResultBeforeOK
		d.startAgainCode = true
		d.sslClearedEveryConnect = true
		d.stopWithClientsCode = simcom.CodeClientNotReleased
		d.certDelete = "+CCERTDELETE"
		d.product = "SIMCOM_SIM7600E-H"
		d.firmware = "LE20B04SIM7600M22"
		d.boot = []string{"RDY", "+CPIN: READY", "SMS DONE", "PB DONE"}
	default:
		d.openSessionFail = true
		d.cfgOpTimeout = true
		d.stopWithClientsCode = simcom.CodeClientUsed
		d.stopWithClientsStops = true
		d.certDelete = "+CCERTDELE"
		d.product = "A7670E-LASE"
		d.firmware = "A011B07A7670M7"
		d.boot = []string{"RDY", "+CPIN: READY", "SMS DONE", "PB DONE", "*ATREADY: 1"}
	}
	d.selectVersion = !cfg.RefuseVersionSelection
	d.cfgVersion = d.selectVersion && cfg.Model != simcom.SIM7600
	d.protocol = cfg.DefaultProtocolLevel
	if d.protocol == 0 {
		d.protocol = 3
	}
	d.nonet = "+CMQTTNONET"
	if cfg.NoNetColon {
		d.nonet = "+CMQTTNONET:"
	}
	if cfg.Boot != BootModel {
		d.boot, _ = bootLines(cfg.Boot, d.boot) // New checked it
	}
	if len(cfg.BootMessages) > 0 {
		d.boot = append([]string(nil), cfg.BootMessages...)
	}
	if cfg.Product != "" {
		d.product = cfg.Product
	}
	if cfg.Firmware != "" {
		d.firmware = cfg.Firmware
	}
	return d
}

// code maps a result code onto the model's table (see resultCode).
func (d *dialect) code(c simcom.ResultCode) simcom.ResultCode { return resultCode(d.limits, c) }
