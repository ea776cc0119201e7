package testscript_test

import (
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
	cmtest "github.com/cellmqtt/cellmqtt/testscript"
)

// The Params of a TestScripts function in a program's own tests: each
// script of testdata gets an emulated A7600 and a broker, and the script
// commands of this package.
func ExampleSetup() {
	params := testscript.Params{
		Dir:   "testdata",
		Setup: cmtest.Setup,
		Cmds:  cmtest.Commands(),
	}
	_ = params // testscript.Run(t, params)
}

// A SIM7600 behind a 115200 bit/s link, whose broker wants a user name
// and password; a program command of your own next to the package's.
func ExampleConfig_Setup() {
	cfg := cmtest.Config{
		Sim:    modemsim.Config{Model: atmodem.SIM7600, Baud: 115200},
		Broker: modemsim.EmbeddedOptions{Username: "dev1", Password: "s3cret"},
	}
	cmds := cmtest.Commands()
	cmds["hello"] = func(ts *testscript.TestScript, neg bool, args []string) {
		ts.Logf("MODEM_PORT is %s", ts.Getenv("MODEM_PORT"))
	}
	params := testscript.Params{Dir: "testdata", Setup: cfg.Setup, Cmds: cmds}
	_ = params // testscript.Run(t, params)
}
