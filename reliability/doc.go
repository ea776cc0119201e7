// Package reliability holds the reliability suite of cellmqtt: tests only,
// no library code.
//
// The suite drives the whole stack (the native client of package cellmqtt,
// and paho.mqtt.golang over package compat) through the modem emulator
// (modemsim) to an embedded mochi-mqtt broker, and counts at a real MQTT
// subscriber on that broker:
//
//   - faultmatrix_test.go: every fault modemsim can inject, against QoS 1
//     and QoS 2 traffic, through both client paths: sent, received,
//     duplicates, lost (must be 0);
//   - durable_test.go: the durable queue across SIGKILL at random points of
//     a child process running the client, against a broker that outlives it;
//   - badinput_test.go and injection_test.go: every limit and forbidden byte
//     of the quoted AT parameters through the native client, compat and the
//     cellmqtt command, with a count of the bytes written to the modem
//     (must be 0), and AT command injection attempts;
//   - main_test.go: go.uber.org/goleak over the whole package.
//
// The short form runs in every `go test`; CELLMQTT_LONG=1 selects the long
// form (more messages, repeated faults, 50 kill cycles), which
// scripts/reliability-long.sh runs together with the fuzz targets.
// RELIABILITY.md at the repository root has the figures.
package reliability
