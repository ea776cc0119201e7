package compat

import (
	"sync"
	"testing"
)

// TestArrivalOrderTurns: work runs in ticket order across connections; a
// ticket given back unused is skipped.
func TestArrivalOrderTurns(t *testing.T) {
	o := &arrivalOrder{given: map[uint64]bool{}, turn: make(chan struct{})}
	var tickets []uint64
	for range 4 {
		tickets = append(tickets, o.take())
	}
	o.done(tickets[2]) // given back before its turn
	var (
		mu  sync.Mutex
		ran []uint64
		wg  sync.WaitGroup
	)
	// The workers start in reverse order; the work runs in ticket order.
	for _, tk := range []uint64{tickets[3], tickets[1], tickets[0]} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.await(tk)
			mu.Lock()
			ran = append(ran, tk)
			mu.Unlock()
			o.done(tk)
		}()
	}
	wg.Wait()
	if len(ran) != 3 || ran[0] != tickets[0] || ran[1] != tickets[1] || ran[2] != tickets[3] {
		t.Fatalf("ran %v, want %v, %v, %v", ran, tickets[0], tickets[1], tickets[3])
	}
	if next := o.take(); next != 4 {
		t.Errorf("next ticket %d, want 4", next)
	}
}
