// Package benchmarks holds the benchmarks behind BENCHMARKS.md: link
// efficiency against the serial link's limit, throughput over a cellular
// round trip with and without the publish window next to paho.mqtt.golang
// over TCP and PPP (BenchmarkCellular), receive throughput, CPU and
// allocations per publish next to paho.mqtt.golang, wire economy (AT
// commands and bytes per connect and publish) and memory (offline queue,
// goroutines across reconnects).
//
// The benchmarks only run with -bench; `go test ./benchmarks` runs the
// small correctness tests of the link-limit computation. Reproduce the
// table with:
//
//	go test -run '^$' -bench . -benchtime 2s -count 5 ./benchmarks | tee new.txt
//	benchstat new.txt
//
// The only non-test code is the link-limit computation (limit.go): the
// bytes each operation moves, counted from modemsim's transcript, and the
// rate at which a serial link can carry them strictly in turn.
package benchmarks
