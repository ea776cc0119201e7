package compat

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/mochiserver/rawmqtt"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestArrivalOrderChanges: a subscription change holds back the work of
// later tickets until it is done, given back or held for its time; it
// holds nothing earlier, and a change does not wait for another change.
func TestArrivalOrderChanges(t *testing.T) {
	o := newArrivalOrder()
	returns := func(what string, ticket uint64) {
		t.Helper()
		done := make(chan struct{})
		go func() { o.await(ticket); close(done) }()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			t.Fatalf("%s: ticket %d still held back", what, ticket)
		}
	}
	before := o.take(false)
	change := o.take(true)
	later := o.take(false)
	returns("a ticket before the change", before)
	returns("the change itself", change)
	other := o.take(true)
	returns("a change after a pending change", other)
	o.done(other)

	// The later ticket runs only once the change is done.
	var mu sync.Mutex
	var ran []string
	record := func(s string) { mu.Lock(); ran = append(ran, s); mu.Unlock() }
	laterDone := make(chan struct{})
	go func() { o.await(later); record("later"); close(laterDone) }()
	record("change")
	o.done(change)
	<-laterDone
	if want := []string{"change", "later"}; !slices.Equal(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}

	// A change given back unused holds nothing.
	given := o.take(true)
	o.done(given)
	returns("a ticket after a change given back", o.take(false))

	// A change that is not carried out stops holding back after its hold.
	o.hold = time.Millisecond
	o.take(true)
	returns("a ticket after a change held for its time", o.take(false))
}

// TestServeBurstDoesNotHoldUpOtherClient: one client hands over a burst of
// messages at once; another client's message, published while the burst
// goes through the modem, reaches the broker long before the burst's end.
// Publishes from different clients have no order to keep with each other;
// holding the second client's message (and its connection's DISCONNECT)
// behind the first client's backlog starved it for as long as the modem
// took for the burst (paho's FVT Test_DisconnectWhileProcessingIncomingPublish
// saw no message for a second and its DISCONNECT unread for another).
func TestServeBurstDoesNotHoldUpOtherClient(t *testing.T) {
	const burst = 100
	// At 115200 baud the burst takes the modem about two seconds.
	r := newRigConfig(t, modemsim.Config{Model: simcom.SIM7600, Baud: 115200})
	addr := gateway(t, r)
	seen := peer(t, r.broker, "", "", "burst/#")

	a := rawmqtt.Dial(t, addr, "burst-a", true)
	for i := range burst {
		a.Send(t, rawmqtt.Publish("burst/a", fmt.Sprint(i), 0, 0))
	}
	seen.wait(t, "burst/a", 5)
	b := rawmqtt.Dial(t, addr, "burst-b", true)
	b.Send(t, rawmqtt.Publish("burst/b", "b", 0, 0))
	seen.wait(t, "burst/b", 1)
	before := seen.count("burst/a")
	if before >= burst {
		t.Errorf("the other client's message reached the broker after all %d of the burst", burst)
	}
	t.Logf("the other client's message reached the broker after %d of the burst's %d", before, burst)
	seen.wait(t, "burst/a", burst) // and none of the burst is lost
}
