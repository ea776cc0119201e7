package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func init() {
	register(command{
		name:    "ports",
		summary: "list serial ports, flag SIMCom modems and their AT port",
		run:     runPorts,
	})
}

// holder is a process that has a serial port open.
type holder struct {
	PID     int
	Command string
}

// portRole is what "ports" found out about one port.
type portRole struct {
	portInfo
	SIMCom  bool
	Device  simcomDevice // when the PID is known
	Known   bool         // the PID is in simcomDevices
	ATPort  bool         // this interface is the primary AT port
	Holders []holder
}

// classify adds the SIMCom and holder details to each port.
func classify(ports []portInfo) []portRole {
	roles := make([]portRole, 0, len(ports))
	for _, p := range ports {
		r := portRole{portInfo: p}
		r.Device, r.SIMCom, r.Known = lookupSIMCom(p.VID, p.PID)
		r.ATPort = r.Known && p.Interface >= 0 && p.Interface == r.Device.ATInterface
		r.Holders = portHolders(p.Name)
		roles = append(roles, r)
	}
	return roles
}

// runPorts is "cellmqtt ports".
func runPorts(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("ports", "cellmqtt ports [--all]", `
Lists the serial ports of this machine with their USB VID:PID and interface
number, flags SIMCom modems (USB vendor 1e0e) and marks which interface is
the AT port: that is the port "--port auto" picks. Ports another process has
open are named with that process; when ModemManager runs, it says how to make
it leave the modem alone.`)
	var all bool
	fs.Bool(&all, "all", "Flags", "also list ports without USB details (built-in UARTs)")
	fs.example("cellmqtt ports", "cellmqtt pub --port auto -h broker.example.com -t hello -m world")
	if _, err := fs.parse(args, stdout, stderr); err != nil {
		return parseExit(err)
	}
	ports, err := listPorts()
	if err != nil {
		return fail(stderr, "ports", err)
	}
	roles := classify(ports)
	printPorts(stdout, roles, all)
	if mm := modemManagerPID(); mm != 0 {
		for _, r := range roles {
			// The AT port matters; a SIMCom port of unknown layout may be it.
			if (r.ATPort || (r.SIMCom && !r.Known)) && !mmIgnored(r.Name) {
				fmt.Fprintf(stdout, "\nModemManager is running (pid %d) and probes %s.\n%s", mm, r.Name, udevHint(r.VID, r.PID))
				break
			}
		}
	}
	return exitOK
}

// printPorts writes the port table.
func printPorts(w io.Writer, roles []portRole, all bool) {
	var rows []string
	for _, r := range roles {
		if !r.USB && !all && !r.SIMCom {
			continue
		}
		id, ifn, dev := "-", "-", r.Product
		if r.USB {
			id = strings.ToLower(r.VID + ":" + r.PID)
		}
		if r.Interface >= 0 {
			ifn = fmt.Sprint(r.Interface)
		}
		var notes []string
		switch {
		case r.Known:
			dev = "SIMCom " + r.Device.Product
			if r.ATPort {
				notes = append(notes, fmt.Sprintf("AT port (--port auto, --model %s)", r.Device.Family))
			} else if r.Interface >= 0 {
				notes = append(notes, fmt.Sprintf("not the AT port (that is interface %d)", r.Device.ATInterface))
			} else {
				notes = append(notes, fmt.Sprintf("AT port is interface %d; this OS does not say which port that is", r.Device.ATInterface))
			}
		case r.SIMCom:
			dev = "SIMCom (unknown product " + strings.ToLower(r.PID) + ")"
			notes = append(notes, "try each port with: cellmqtt at --port PORT AT")
		}
		for _, h := range r.Holders {
			notes = append(notes, fmt.Sprintf("open in %s (pid %d)", h.Command, h.PID))
		}
		if dev == "" {
			dev = "-"
		}
		rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.Name, id, ifn, dev, strings.Join(notes, "; ")))
	}
	if len(rows) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PORT\tUSB ID\tIF\tDEVICE\tNOTE")
		for _, row := range rows {
			fmt.Fprintln(tw, strings.TrimRight(row, "\t"))
		}
		tw.Flush()
		return
	}
	{
		if all {
			fmt.Fprintln(w, "no serial ports found")
		} else {
			fmt.Fprintln(w, "no USB serial ports found (--all lists the others; --sim runs any command against the emulator)")
		}
	}
}

// udevHint says how to make ModemManager ignore a SIMCom device.
func udevHint(vid, pid string) string {
	return fmt.Sprintf(`To keep ModemManager away from the modem, add a udev rule and reload:
  echo 'ACTION=="add|change|move|bind", SUBSYSTEMS=="usb", ATTRS{idVendor}=="%s", ATTRS{idProduct}=="%s", ENV{ID_MM_DEVICE_IGNORE}="1"' | sudo tee /etc/udev/rules.d/99-cellmqtt.rules
  sudo udevadm control --reload && sudo udevadm trigger && sudo systemctl restart ModemManager
(or stop it: sudo systemctl stop ModemManager)
`, strings.ToLower(vid), strings.ToLower(pid))
}

// errNoModem is returned by autoPort when no SIMCom AT port is found.
var errNoModem = errors.New("no SIMCom modem found (USB vendor 1e0e)")

// autoPort picks the AT port of the one SIMCom modem on this machine.
func autoPort() (string, error) {
	ports, err := listPorts()
	if err != nil {
		return "", err
	}
	var at, simcom []string
	for _, r := range classify(ports) {
		if r.ATPort {
			at = append(at, r.Name)
		}
		if r.SIMCom {
			simcom = append(simcom, r.Name)
		}
	}
	switch {
	case len(at) == 1:
		return at[0], nil
	case len(at) > 1:
		return "", fmt.Errorf("--port auto: several SIMCom AT ports (%s): choose one with --port", strings.Join(at, ", "))
	case len(simcom) > 0:
		return "", fmt.Errorf("--port auto: SIMCom ports %s found, but not which is the AT port: choose one with --port (see cellmqtt ports)", strings.Join(simcom, ", "))
	}
	return "", fmt.Errorf("--port auto: %w: plug it in, give --port PATH, or try --sim", errNoModem)
}

// portWarning describes who else uses a serial port we are about to open,
// or returns "" when nobody does.
func portWarning(port string) string {
	var b strings.Builder
	for _, h := range portHolders(port) {
		fmt.Fprintf(&b, "warning: %s is also open in %s (pid %d): answers may be garbled or stolen\n", port, h.Command, h.PID)
	}
	if mm := modemManagerPID(); mm != 0 && !mmIgnored(port) {
		fmt.Fprintf(&b, "warning: ModemManager is running (pid %d) and may probe %s with its own AT commands\n", mm, port)
		vid, pid := "1e0e", "9001"
		if ports, err := listPorts(); err == nil {
			for _, p := range ports {
				if p.Name == port && p.USB {
					vid, pid = p.VID, p.PID
				}
			}
		}
		b.WriteString(udevHint(vid, pid))
	}
	return b.String()
}
