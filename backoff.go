package cellmqtt

import (
	"math/rand/v2"
	"time"
)

// backoff is the wait before reconnection attempt n+1 after n failures
// (n >= 0): initial doubled n times, capped at max, then drawn uniformly
// from its upper half ("equal jitter") so that many devices that lost the
// same cell do not come back in lockstep. rnd(k) returns a value in [0, k).
func backoff(n int, initial, max time.Duration, rnd func(int64) int64) time.Duration {
	if initial <= 0 {
		initial = time.Second
	}
	if max > 0 && max < initial {
		initial = max // a maximum below the first step is honoured, not raised
	}
	if max <= 0 {
		max = initial
	}
	d := initial
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rnd(int64(d-half)+1))
}

// jitter is the random source of backoff.
func jitter(k int64) int64 { return rand.Int64N(k) }
