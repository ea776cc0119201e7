package bridge

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// referenceConf is given as it is to mosquitto (as the bridge section of
// its configuration) and to the bridge; REMOTE becomes the remote broker.
const referenceConf = `connection ref
address REMOTE
remote_clientid gw-ref
cleansession false
keepalive_interval 60
restart_timeout 1 2
notifications true
notification_topic bridge/state
notifications_local_only true
topic sensors/# out 1
topic cmd/# in 1
topic chat/# both 1
topic # both 1 home/ site1/
topic probe/# in 0
topic marker/# both 1
`

// TestMosquittoReference runs one scenario through mosquitto's own bridge
// over TCP (the reference) and through the bridge over the emulated modem,
// with the same configuration and a fresh remote mosquitto each, and wants
// every client on both sides to receive the same messages.
func TestMosquittoReference(t *testing.T) {
	requireInterop(t)

	// The reference: a local mosquitto whose bridge section is the file.
	refRemote := startMosquitto(t, "")
	refLocal := startMosquitto(t, strings.ReplaceAll(referenceConf, "REMOTE", refRemote.addr()))
	want := runScenario(t, refLocal.addr(), refRemote.addr())
	refLocal.kill()

	remote := startMosquitto(t, "")
	r := newRig(t, remote.addr(), referenceConf, Options{})
	got := runScenario(t, r.bridge.Addr(), remote.addr())

	for name, w := range want {
		if !slices.Equal(got[name], w) {
			t.Errorf("%s received\n  %q\nthrough the modem, and through mosquitto's bridge\n  %q", name, got[name], w)
		}
	}
	// The scenario is not empty: each direction and remapping happened.
	for name, m := range map[string]string{
		"R2": "site1/kitchen warm", "L3": "home/door open", "L2": "cmd/light on",
		"R3": "sensors/t 3", "L4": "chat/b yo", "R1": "chat/a hi",
	} {
		if !slices.Contains(got[name], m) {
			t.Errorf("%s did not receive %q: %q", name, m, got[name])
		}
	}
	for _, name := range []string{"L1", "L2", "L3", "L4"} {
		if slices.Contains(got[name], "other/y remote only") {
			t.Errorf("%s received a remote message no rule bridges", name)
		}
	}
	for _, name := range []string{"R1", "R2", "R3"} {
		if slices.Contains(got[name], "misc/x local only") || slices.Contains(got[name], "cmd/local c") {
			t.Errorf("%s received a local message no out rule bridges: %q", name, got[name])
		}
	}
}

// runScenario publishes on both sides of a bridge between the brokers at
// local and remote and returns what each client received, sorted, without
// the probes and the state topic.
func runScenario(t *testing.T, local, remote string) map[string][]string {
	t.Helper()
	marker := map[string]byte{"marker/#": 1}
	with := func(m map[string]byte, f ...string) map[string]byte {
		out := map[string]byte{}
		for k, v := range m {
			out[k] = v
		}
		for _, x := range f {
			out[x] = 1
		}
		return out
	}
	subs := map[string]*collector{
		"L1": connect(t, local, "L1", map[string]byte{"#": 1}),
		"L2": connect(t, local, "L2", with(marker, "cmd/#")),
		"L3": connect(t, local, "L3", with(marker, "home/#")),
		"L4": connect(t, local, "L4", with(marker, "chat/+")),
		"R1": connect(t, remote, "R1", map[string]byte{"#": 1}),
		"R2": connect(t, remote, "R2", with(marker, "site1/#")),
		"R3": connect(t, remote, "R3", with(marker, "sensors/#")),
	}
	lp := connect(t, local, "LP", nil)
	rp := connect(t, remote, "RP", nil)
	waitProbe(t, rp, local)

	lp.publish("sensors/t", 1, false, "1")
	lp.publish("sensors/t", 1, false, "2")
	lp.publish("sensors/t", 1, false, "3")
	lp.publish("sensors/h", 1, true, "50")
	lp.publish("home/kitchen", 1, false, "warm")
	lp.publish("chat/a", 1, false, "hi")
	lp.publish("misc/x", 1, false, "local only")
	lp.publish("cmd/local", 1, false, "c")
	rp.publish("cmd/light", 1, false, "on")
	rp.publish("site1/door", 1, false, "open")
	rp.publish("chat/b", 1, false, "yo")
	rp.publish("other/y", 1, false, "remote only")
	rp.publish("sensors/remote", 1, false, "s")
	lp.publish("marker/end", 1, false, "L")
	rp.publish("marker/end", 1, false, "R")

	got := map[string][]string{}
	for name, c := range subs {
		var msgs []string
		seen := map[string]bool{}
		timeout := time.After(waitTimeout)
		for !seen["marker/end L"] || !seen["marker/end R"] {
			select {
			case m := <-c.ch:
				seen[m] = true
				if !strings.HasPrefix(m, "probe/") && !strings.HasPrefix(m, "bridge/state ") {
					msgs = append(msgs, m)
				}
			case <-timeout:
				t.Fatalf("%s: the markers did not arrive; got %q", name, msgs)
			}
		}
		slices.Sort(msgs)
		got[name] = msgs
	}
	// Both markers crossed every path after the messages: anything else
	// that arrived now came round twice.
	for name, c := range subs {
		select {
		case m := <-c.ch:
			if !strings.HasPrefix(m, "probe/") && !strings.HasPrefix(m, "bridge/state ") {
				got[name] = append(got[name], fmt.Sprintf("(late) %s", m))
			}
		default:
		}
	}
	return got
}
