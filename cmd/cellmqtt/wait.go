package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cellmqtt/cellmqtt"
)

// progressAfter is how long a wait stays silent before progress lines.
const progressAfter = 3 * time.Second

// progressEvery is the interval of progress lines after that.
const progressEvery = 5 * time.Second

// waitToken waits until t completes or ctx ends. A wait that takes seconds
// (network registration, connecting, a publish over a slow link) prints
// "still <what> (Ns)" lines to stderr so the user sees it is alive.
func waitToken(ctx context.Context, t cellmqtt.Token, stderr io.Writer, what string) error {
	start := time.Now()
	timer := time.NewTimer(progressAfter)
	defer timer.Stop()
	for {
		select {
		case <-t.Done():
			return t.Error()
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			fmt.Fprintf(stderr, "cellmqtt: still %s (%s)\n", what, time.Since(start).Round(time.Second))
			timer.Reset(progressEvery)
		}
	}
}
