package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunAgainstEmulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, config{count: 3}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"client index 0 connected", "client index 1 connected", "B bridge/out: reading 1", "B bridge/out: reading 3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
