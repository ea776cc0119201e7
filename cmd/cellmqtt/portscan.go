package main

// portInfo is one serial port as "cellmqtt ports" shows it.
type portInfo struct {
	Name      string // /dev/ttyUSB2, COM5 ...
	USB       bool
	VID, PID  string // hex, as the OS reports them
	Interface int    // USB bInterfaceNumber, -1 when unknown
	Product   string // the USB product string, when the OS reports it
	Serial    string // the USB serial number, when the OS reports it
}

// listPorts enumerates the serial ports of this machine; tests replace it.
var listPorts = systemPorts
