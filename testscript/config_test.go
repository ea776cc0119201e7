package testscript_test

import (
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// cmtestModel is an emulator configuration of model m.
func cmtestModel(m atmodem.Model) modemsim.Config { return modemsim.Config{Model: m} }
