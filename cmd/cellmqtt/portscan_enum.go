//go:build !darwin || cgo

package main

import (
	"fmt"

	"go.bug.st/serial/enumerator"
)

// systemPorts lists the serial ports with their USB details
// (go.bug.st/serial/enumerator).
func systemPorts() ([]portInfo, error) {
	list, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("listing serial ports: %w", err)
	}
	ports := make([]portInfo, 0, len(list))
	for _, p := range list {
		if p.Name == "" {
			continue
		}
		ports = append(ports, portInfo{
			Name: p.Name, USB: p.IsUSB, VID: p.VID, PID: p.PID,
			Interface: usbInterfaceNumber(p.Name),
			Product:   p.Product, Serial: p.SerialNumber,
		})
	}
	return ports, nil
}
