//go:build darwin && !cgo

package main

import (
	"fmt"

	"go.bug.st/serial"
)

// systemPorts lists the serial ports by name only: the USB details of the
// enumerator need cgo on macOS, and this binary was built without it.
func systemPorts() ([]portInfo, error) {
	names, err := serial.GetPortsList()
	if err != nil {
		return nil, fmt.Errorf("listing serial ports: %w", err)
	}
	ports := make([]portInfo, 0, len(names))
	for _, n := range names {
		ports = append(ports, portInfo{Name: n, Interface: -1})
	}
	return ports, nil
}
