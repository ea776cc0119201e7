package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunAgainstEmulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	cfg := config{queue: t.TempDir(), topic: "durable/example", count: 3}
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"published 3 messages while offline", "broker received durable/example: reading 1", "broker received durable/example: reading 2", "broker received durable/example: reading 3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
