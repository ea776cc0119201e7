package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	cmtest "github.com/cellmqtt/cellmqtt/testscript"
)

// TestMain lets the scripts run this program as "device".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"device": main})
}

// TestScripts runs testdata/*.txtar, each with its own emulated modem and
// broker (cmtest.Setup) and the script commands modem, mqtt, start,
// waitline and end (cmtest.Commands).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata",
		Setup: cmtest.Setup,
		Cmds:  cmtest.Commands(),
	})
}
