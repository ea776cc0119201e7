//go:build !nosim

package main

import (
	"fmt"
	"io"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/examples/internal/emulated"
)

// useEmulator points opts at an emulated modem whose CONNECT goes to an
// embedded broker. Build with -tags nosim to leave the emulator out (the
// binary then needs -port).
func useEmulator(opts *cellmqtt.ClientOptions, out io.Writer) (stop func(), err error) {
	env, err := emulated.Start(emulated.Options{Redirect: true})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "no -port: using the modem emulator and an embedded broker at %s\n", env.Broker.URL())
	opts.AddBroker(env.Broker.URL()).SetTransport(env.Conn())
	return env.Close, nil
}
