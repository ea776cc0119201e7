package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

func init() {
	register(command{
		name:    "info",
		summary: "show model, firmware, IMEI, SIM, signal, registration, PDP address and MQTT state",
		run:     runInfo,
	})
}

// runInfo is "cellmqtt info".
func runInfo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("info", "cellmqtt info [flags]", `
Asks the modem what a first look needs: model and firmware (ATI, AT+CGMM),
IMEI (AT+CGSN), SIM state (AT+CPIN?), signal (AT+CSQ), registration
(AT+CREG?, AT+CGREG?, AT+CEREG?), PDP addresses (AT+CGPADDR), and the state
of the MQTT service and its two client indexes (AT+CMQTTACCQ?,
AT+CMQTTDISC?). It changes nothing on the modem. A value the modem does
not answer is shown as "-" with the reason.`)
	var mf modemFlags
	var timeout time.Duration
	fs.Seconds(&timeout, "timeout", "SECONDS", 10*time.Second, "Info", "how long to wait for each answer")
	mf.register(fs, false)
	fs.example("cellmqtt info --sim", "cellmqtt info --port /dev/ttyUSB2")
	if _, err := fs.parse(args, stdout, stderr); err != nil {
		return parseExit(err)
	}
	if err := mf.check(); err != nil {
		return fail(stderr, "info", err)
	}
	l, err := mf.open(ctx, stderr, false)
	if err != nil {
		return fail(stderr, "info", err)
	}
	defer l.Close()
	if err := showInfo(ctx, l.Modem, timeout, stdout); err != nil {
		return fail(stderr, "info", err)
	}
	return exitOK
}

// showInfo queries the modem and prints one "name: value" row per item.
// It fails only when the modem does not answer at all.
func showInfo(ctx context.Context, m *atmodem.Modem, timeout time.Duration, w io.Writer) error {
	q := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, timeout) }
	c, cancel := q()
	err := m.Ping(c)
	cancel()
	if err != nil {
		return fmt.Errorf("the modem does not answer AT: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	row := func(name string, v string, err error) {
		if err != nil {
			v = "- (" + describe(err) + ")"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", name, v)
	}
	c, cancel = q()
	id, err := m.Identity(c)
	cancel()
	row("manufacturer", id.Manufacturer, err)
	c, cancel = q()
	family, ferr := m.DetectModel(c)
	cancel()
	row("model", id.Model+" ("+family.String()+" family)", errors.Join(err, ferr))
	row("firmware", id.Revision, err)
	c, cancel = q()
	imei, err := m.IMEI(c)
	cancel()
	row("IMEI", imei, err)
	c, cancel = q()
	sim, err := m.SIMState(c)
	cancel()
	row("SIM", sim, err)
	c, cancel = q()
	sig, err := m.SignalQuality(c)
	cancel()
	sigText := fmt.Sprintf("rssi %d", sig.RSSI)
	if dbm, ok := sig.DBm(); ok {
		sigText += fmt.Sprintf(" (%d dBm)", dbm)
	} else {
		sigText += " (unknown)"
	}
	row("signal", sigText, err)
	for _, k := range []struct {
		kind atmodem.RegKind
		name string
	}{{atmodem.RegCS, "registration (CREG)"}, {atmodem.RegGPRS, "registration (CGREG)"}, {atmodem.RegEPS, "registration (CEREG)"}} {
		c, cancel = q()
		st, err := m.Registration(c, k.kind)
		cancel()
		row(k.name, st.String(), err)
	}
	c, cancel = q()
	addrs, err := m.PDPAddresses(c)
	cancel()
	var pdp []string
	for _, a := range addrs {
		pdp = append(pdp, fmt.Sprintf("cid %d %s", a.CID, strings.Join(a.Addrs, " ")))
	}
	if err == nil && len(pdp) == 0 {
		pdp = append(pdp, "none")
	}
	row("PDP address", strings.Join(pdp, "; "), err)
	c, cancel = q()
	acq, err := m.Acquired(c)
	cancel()
	if err != nil {
		// AT+CMQTTACCQ? fails with ERROR while the service is stopped.
		if errors.Is(err, atmodem.ErrCommandFailed) {
			row("MQTT service", "stopped (AT+CMQTTACCQ? answers ERROR)", nil)
			return nil
		}
		row("MQTT service", "", err)
		return nil
	}
	row("MQTT service", "started", nil)
	c, cancel = q()
	states, serr := m.ConnectedIndexes(c)
	cancel()
	for _, a := range acq {
		v := "free"
		if a.ClientID != "" {
			v = fmt.Sprintf("acquired, client ID %q, %s", a.ClientID, a.ServerType)
			if serr == nil {
				if states[a.Index] {
					v += ", connected"
				} else {
					v += ", not connected"
				}
			}
		}
		row(fmt.Sprintf("MQTT client %d", a.Index), v, nil)
	}
	return nil
}
