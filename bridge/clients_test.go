package bridge

import (
	"bufio"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/topic"
)

// subProcess is a mosquitto_sub running in the background with -d -v:
// its debug lines tell when it subscribed, its other lines are messages.
type subProcess struct {
	name   string
	cmd    *exec.Cmd
	ch     chan string
	suback chan struct{}
	exit   chan struct{}
}

// startSub runs mosquitto_sub with args against addr and waits for its
// SUBACK.
func startSub(t *testing.T, name, addr string, args ...string) *subProcess {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	// stdbuf: mosquitto_sub's debug lines are not flushed into a pipe.
	args = append([]string{"-oL", "mosquitto_sub", "-h", host, "-p", port, "-i", name, "-d", "-v", "-q", "1"}, args...)
	s := &subProcess{name: name, cmd: exec.Command("stdbuf", args...), ch: make(chan string, 1000), suback: make(chan struct{}), exit: make(chan struct{})}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.exit)
		sc := bufio.NewScanner(out)
		acked := false
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "Subscribed (mid: ") {
				continue
			}
			if strings.HasPrefix(line, "Client "+name+" ") {
				if strings.Contains(line, "received SUBACK") && !acked {
					acked = true
					close(s.suback)
				}
				continue
			}
			s.ch <- line
		}
		_ = s.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exit
	})
	select {
	case <-s.suback:
	case <-s.exit:
		t.Fatalf("%s exited before subscribing", name)
	case <-time.After(waitTimeout):
		t.Fatalf("%s did not subscribe", name)
	}
	return s
}

// TestTenLocalClients: ten local clients at once, mosquitto_sub and
// mosquitto_pub (MQTT 3.1.1 and 5) and paho, each with its own
// subscriptions, through the bridge to a mosquitto: each receives what it
// should and nothing else, and the remote side gets what the out rules
// carry, once.
func TestTenLocalClients(t *testing.T) {
	requireInterop(t)
	remote := startMosquitto(t, "")
	r := newRig(t, remote.addr(), `connection ten
address REMOTE
remote_clientid gw-ten
restart_timeout 1 2
topic sensors/# out 1
topic cmd/# in 1
topic chat/# both 1
topic # both 1 home/ site1/
topic probe/# in 0
`, Options{})
	local := r.bridge.Addr()
	rp := connect(t, remote.addr(), "RP", nil)
	waitProbe(t, rp, local)
	rs := connect(t, remote.addr(), "RS", map[string]byte{"#": 1})

	subs := map[string][]string{
		"S1": {"sensors/#"}, "S2": {"cmd/#"}, "S3": {"home/#"}, "S4": {"chat/#"},
		"S5": {"#"}, "S6": {"cmd/door"}, "S7": {"sensors/a/+", "home/garage"}, "S8": {"nothing/here"},
	}
	procs := map[string]*subProcess{}
	for _, name := range []string{"S1", "S2", "S3", "S4"} {
		args := []string{"-t", "end/marker"}
		for _, f := range subs[name] {
			args = append(args, "-t", f)
		}
		if name == "S4" {
			args = append(args, "-V", "mqttv5")
		}
		procs[name] = startSub(t, name, local, args...)
	}
	pahos := map[string]*collector{}
	for _, name := range []string{"S5", "S6", "S7", "S8"} {
		f := map[string]byte{"end/marker": 1}
		for _, x := range subs[name] {
			f[x] = 1
		}
		pahos[name] = connect(t, local, name, f)
	}
	p1 := connect(t, local, "P1", nil) // client 9; mosquitto_pub is 10

	type msg struct{ topic, payload string }
	localMsgs := []msg{}
	for i := range 5 {
		m := msg{"sensors/a/" + string(rune('1'+i)), "v" + string(rune('1'+i))}
		p1.publish(m.topic, 1, false, m.payload)
		localMsgs = append(localMsgs, m)
	}
	p1.publish("chat/x", 1, false, "1")
	p1.publish("home/lamp", 1, false, "on")
	localMsgs = append(localMsgs, msg{"chat/x", "1"}, msg{"home/lamp", "on"})
	host, port, _ := strings.Cut(local, ":")
	for _, m := range []msg{{"sensors/b", "7"}, {"chat/y", "2"}} {
		if out, err := exec.Command("mosquitto_pub", "-h", host, "-p", port, "-V", "mqttv5", "-i", "P2", "-q", "1", "-t", m.topic, "-m", m.payload).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v: %s", err, out)
		}
		localMsgs = append(localMsgs, m)
	}
	remoteMsgs := []msg{{"cmd/door", "open"}, {"cmd/window", "shut"}, {"site1/garage", "closed"}, {"other/z", "x"}, {"chat/r", "3"}}
	for _, m := range remoteMsgs {
		rp.publish(m.topic, 1, false, m.payload)
	}
	// What the local broker carries: the local messages and the remote
	// ones the in rules bring in, remapped.
	onLocal := append([]msg(nil), localMsgs...)
	onLocal = append(onLocal, msg{"cmd/door", "open"}, msg{"cmd/window", "shut"}, msg{"home/garage", "closed"}, msg{"chat/r", "3"})
	expect := func(filters []string) []string {
		var want []string
		for _, m := range onLocal {
			for _, f := range filters {
				if topic.Match(f, m.topic) {
					want = append(want, m.topic+" "+m.payload)
					break
				}
			}
		}
		slices.Sort(want)
		return want
	}
	// The paho clients have everything, then the marker goes to all.
	for name, c := range pahos {
		want := expect(subs[name])
		got := c.collect(len(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s received %q, want %q", name, got, want)
		}
	}
	p1.publish("end/marker", 1, false, ".")
	for name, c := range pahos {
		c.expect("end/marker .")
		c.none()
		_ = name
	}
	for name, p := range procs {
		want := expect(subs[name])
		var got []string
		timeout := time.After(waitTimeout)
		for done := false; !done; {
			select {
			case line := <-p.ch:
				if line == "end/marker ." {
					done = true
					continue
				}
				got = append(got, line)
			case <-timeout:
				t.Fatalf("%s: the marker did not arrive; got %q", name, got)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s (mosquitto_sub) received %q, want %q", name, got, want)
		}
	}
	// The remote side: each out message once, remapped, and no in message
	// sent back out (loop prevention).
	wantRemote := []string{"sensors/a/1 v1", "sensors/a/2 v2", "sensors/a/3 v3", "sensors/a/4 v4", "sensors/a/5 v5",
		"chat/x 1", "site1/lamp on", "sensors/b 7", "chat/y 2"}
	for _, m := range remoteMsgs {
		wantRemote = append(wantRemote, m.topic+" "+m.payload)
	}
	slices.Sort(wantRemote)
	gotRemote := rs.collect(len(wantRemote))
	if !slices.Equal(gotRemote, wantRemote) {
		t.Errorf("remote received %q, want %q", gotRemote, wantRemote)
	}
	rp.publish("chat/end", 1, false, "R")
	rs.expect("chat/end R")
	rs.none()
}

// waitProbe waits until a probe published on the remote broker (rp)
// crosses the bridge to the local broker at local: the bridge is up and
// subscribed.
func waitProbe(t *testing.T, rp *collector, local string) {
	t.Helper()
	waitProbeOn(t, rp, local, "probe/x")
}
