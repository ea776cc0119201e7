package main

import "strings"

// simcomVID is SIMCom's USB vendor ID.
const simcomVID = "1e0e"

// simcomDevice describes one SIMCom USB composition: which product it is and
// which USB interface carries the primary AT port. The interface numbers
// are those ModemManager's SIMCom port-type rules use.
type simcomDevice struct {
	Product     string // what the PID is known as
	Family      string // model family for --model: "a7600" or "sim7600"
	ATInterface int    // bInterfaceNumber of the primary AT port
}

// simcomDevices maps a lower-case USB product ID to its composition.
var simcomDevices = map[string]simcomDevice{
	"9001": {Product: "SIM7500/SIM7600/SIM7800", Family: "sim7600", ATInterface: 2},
	"9011": {Product: "A7600 series (A7670, A7672, A7608; RNDIS mode)", Family: "a7600", ATInterface: 4},
}

// lookupSIMCom returns the composition of a VID:PID, and whether the
// vendor is SIMCom at all (known is false for a SIMCom PID not in the table).
func lookupSIMCom(vid, pid string) (dev simcomDevice, isSIMCom, known bool) {
	if !strings.EqualFold(vid, simcomVID) {
		return simcomDevice{}, false, false
	}
	dev, known = simcomDevices[strings.ToLower(pid)]
	return dev, true, known
}
