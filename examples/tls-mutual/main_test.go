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
	if err := run(ctx, config{topic: "examples/tls", ignoreModemTime: true}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"requiring client certificates", "connected over TLS with a client certificate", "published to examples/tls"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
