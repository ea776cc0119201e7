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
	if err := run(ctx, config{topic: "cellmqtt/examples/#", count: 3}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"subscribed to cellmqtt/examples/#", "cellmqtt/examples/1: message 1", "cellmqtt/examples/2: message 2", "cellmqtt/examples/3: message 3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
