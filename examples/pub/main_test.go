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
	cfg := config{topic: "examples/pub", message: "hello"}
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `published "hello" to examples/pub`) {
		t.Fatalf("output:\n%s", out.String())
	}
}
