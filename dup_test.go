package cellmqtt

import (
	"bytes"
	"io"
	"regexp"
	"sync"
	"testing"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

var pubLine = regexp.MustCompile(`AT\+CMQTTPUB=[0-9,]*`)

// tripwire is a transport that calls trip once, just before the first
// write that starts with prefix reaches the modem.
type tripwire struct {
	io.ReadWriteCloser
	prefix []byte
	once   sync.Once
	trip   func()
}

func (w *tripwire) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, w.prefix) {
		w.once.Do(w.trip)
	}
	return w.ReadWriteCloser.Write(b)
}

// TestIntegrationResendWithDup: a QoS 1 message whose PUB meets a dropped
// connection stays queued and is sent again after the reconnect with the
// DUP flag set (AT+CMQTTPUB=0,1,60,0,1), and reaches the subscriber.
func TestIntegrationResendWithDup(t *testing.T) {
	for _, qos := range []byte{1, 2} {
		e := newEnv(t, modemsim.Config{})
		p := e.peer("dup")
		o := e.options("dup")
		o.Transport = &tripwire{ReadWriteCloser: o.Transport, prefix: []byte("AT+CMQTTPUB="), trip: func() {
			if err := e.sim.DropConnection(0, modemsim.CauseNetworkClosed); err != nil {
				t.Error(err)
			}
		}}
		c := e.connect(o)
		mustWait(t, "publish", c.Publish("dup", qos, false, "in flight"))
		p.waitAll(t, []string{"in flight"})
		// Data and commands run together in the transcript: find the lines.
		pubs := pubLine.FindAllString(string(written(e.sim)), -1)
		want := "AT+CMQTTPUB=0," + string('0'+qos) + ",60,0,1"
		if len(pubs) < 2 || pubs[0] == want || pubs[len(pubs)-1] != want {
			t.Fatalf("qos %d: PUB commands %q, want a first send and a resend %q", qos, pubs, want)
		}
		c.Disconnect(0)
	}
}
