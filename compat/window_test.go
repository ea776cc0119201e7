package compat

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// windowRig is a rig whose emulated modem has a 25 ms broker round trip
// (results come long after the OK, so publishes overlap) and the given kind
// of firmware.
func windowRig(t *testing.T, mode modemsim.PipelineMode) *rig {
	t.Helper()
	return newRigConfig(t, modemsim.Config{Model: simcom.A7600, Pipeline: mode, RTT: 25 * time.Millisecond})
}

// TestPahoWindow: paho.mqtt.golang keeps its publishes in flight over
// compat with WithMaxInflight(8) on each kind of firmware: 30 messages,
// QoS 1 and 2, every token succeeds, the broker gets every one, and the
// connection stays up (a refused publish is sent again by the adapter, one
// at a time from then on).
func TestPahoWindow(t *testing.T) {
	t.Parallel() // a broker round trip per message: beside the others
	for _, mode := range []modemsim.PipelineMode{modemsim.PipelineAccept, modemsim.PipelineBusy14, modemsim.PipelineError} {
		t.Run(mode.String(), func(t *testing.T) {
			r := windowRig(t, mode)
			watch := peer(t, r.broker, "", "", "win/#")
			lost := newSignal()
			o := pahoOptions(r, "window311", WithMaxInflight(8)).
				SetConnectionLostHandler(func(mqtt.Client, error) { lost.fire() })
			c := mqtt.NewClient(o)
			waitToken(t, c.Connect(), "connect")
			defer c.Disconnect(250)
			var toks []mqtt.Token
			for i := range 30 {
				toks = append(toks, c.Publish(fmt.Sprintf("win/%02d", i), byte(1+i%2), false, []byte{byte(i)}))
			}
			for i, tok := range toks {
				waitToken(t, tok, fmt.Sprintf("publish %d", i))
			}
			for i := range 30 {
				watch.wait(t, fmt.Sprintf("win/%02d", i), 1)
			}
			if refused := r.modem.PipelineRefused(); refused != (mode != modemsim.PipelineAccept) {
				t.Fatalf("PipelineRefused = %v on %v firmware", refused, mode)
			}
			lost.mu.Lock()
			n := lost.n
			lost.mu.Unlock()
			if n != 0 {
				t.Fatalf("the connection was lost %d times", n)
			}
		})
	}
}

// TestPaho5Window: paho.golang (MQTT 5) with 20 QoS 1 publishes in flight
// at once over compat with WithMaxInflight(8), firmware that takes
// pipelining: every PUBACK is 0 and the broker gets every message.
func TestPaho5Window(t *testing.T) {
	r := windowRig(t, modemsim.PipelineAccept)
	watch := peer(t, r.broker, "", "", "win5/#")
	ctx := testContext(t)
	conn, err := Dial(ctx, r.modem, r.broker.URL(), WithLogger(testLogger()), WithMaxInflight(8))
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "window5", KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Publish(ctx, &paho.Publish{Topic: fmt.Sprintf("win5/%02d", i), QoS: 1, Payload: []byte{byte(i)}})
			if err == nil && resp.ReasonCode != 0 {
				err = fmt.Errorf("PUBACK reason 0x%02X", resp.ReasonCode)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		watch.wait(t, fmt.Sprintf("win5/%02d", i), 1)
	}
}
