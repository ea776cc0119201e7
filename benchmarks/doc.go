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
// tables with (BENCHMARKS.md has every command):
//
//	go test -run '^$' -bench 'Benchmark(Link|Receive|PublishCPU$|Wire|OfflineQueue|ReconnectGoroutines)' -benchtime 2s -count 5 ./benchmarks | tee new.txt
//	go test -run '^$' -bench Cellular -benchtime 40x -count 5 ./benchmarks | tee cellular.txt
//	benchstat new.txt
//
// BenchmarkCellular takes a fixed number of messages (-benchtime 40x): its
// slowest cases deliver 3 messages a second.
//
// The only non-test code is the link-limit computation (limit.go): the
// bytes each operation moves, counted from modemsim's transcript, and the
// rate at which a serial link can carry them strictly in turn.
package benchmarks
