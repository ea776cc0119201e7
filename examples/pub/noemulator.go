//go:build nosim

package main

import (
	"errors"
	"io"

	"github.com/cellmqtt/cellmqtt"
)

// useEmulator: this build has no emulator (-tags nosim); -port is needed.
func useEmulator(*cellmqtt.ClientOptions, io.Writer) (func(), error) {
	return nil, errors.New("built with -tags nosim: give the modem's port with -port")
}
