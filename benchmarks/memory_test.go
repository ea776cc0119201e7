package benchmarks

import (
	"bufio"
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/cellmqtt/cellmqtt/queue"
)

// offlinePublishes is how many messages the offline benchmark publishes.
const offlinePublishes = 1_000_000

// queueCap is the byte limit of the offline queue.
const queueCap = 1 << 20

// heapSampler samples the heap (live and not yet swept objects, as
// MemStats.HeapAlloc) every millisecond and keeps the peak.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{}), peak: heapNow()}
	go func() {
		defer close(h.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				h.peak = max(h.peak, heapNow())
			case <-h.stop:
				h.peak = max(h.peak, heapNow())
				return
			}
		}
	}()
	return h
}

// end stops sampling and returns the peak in bytes.
func (h *heapSampler) end() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}

// resetPeakRSS resets the kernel's peak resident set size (VmHWM) of this
// process (Linux: "5" to /proc/self/clear_refs), so VmHWM covers only what
// follows, not the benchmarks that ran before. It reports whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// procStatus returns a field of /proc/self/status in bytes (VmHWM, VmRSS).
func procStatus(field string) (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

const mib = 1 << 20

// BenchmarkOfflineQueue publishes a million messages (9-byte topic, 60
// bytes, QoS 1) through the root client while it cannot connect (the
// emulated network is down and it keeps retrying), into its memory queue
// capped at 1 MiB with the DropOldest or the Reject policy. One op is the
// million publishes. It reports the peak heap while publishing (sampled
// every millisecond, garbage not yet collected included), the heap after a
// GC with the client still holding its queue, and what of it the publishes
// added (heap-held-MiB: queue, tokens), the peak resident memory of
// the process while publishing (VmHWM, reset before), and ns per publish;
// queued and failed count the tokens.
func BenchmarkOfflineQueue(b *testing.B) {
	for _, policy := range []queue.Policy{queue.DropOldest, queue.Reject} {
		b.Run(policy.String(), func(b *testing.B) {
			for range b.N {
				offlineMillion(b, policy)
			}
		})
	}
}

func offlineMillion(b *testing.B, policy queue.Policy) {
	b.StopTimer()
	sc := &scope{TB: b}
	defer sc.close()
	sim := startSim(sc, modemsim.Config{}, startBroker(sc))
	sim.NoNetwork()
	o := clientOptions(sim, "bench-offline").
		SetConnectRetry(true).SetConnectRetryInterval(time.Hour).
		SetQueueLimits(0, queueCap, policy)
	c := cellmqtt.NewClient(o)
	c.Connect() // keeps retrying: publishes queue
	sc.Cleanup(func() { c.Disconnect(0) })
	if !c.IsConnected() {
		b.Fatal("client does not accept publishes while retrying")
	}
	payload := payloadOf(60)
	runtime.GC()
	base := heapNow()
	rssOK := resetPeakRSS()
	heap := startHeapSampler()
	refused := 0
	b.StartTimer()
	start := time.Now()
	for range offlinePublishes {
		t := c.Publish(topic9, 1, false, payload)
		select { // done at once: the queue refused it
		case <-t.Done():
			if !errors.Is(t.Error(), queue.ErrQueueFull) {
				b.Fatalf("publish: %v", t.Error())
			}
			refused++
		default:
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	peak := heap.end()
	runtime.GC()
	after := heapNow()
	b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(after)/mib, "heap-after-gc-MiB")
	b.ReportMetric((float64(after)-float64(base))/mib, "heap-held-MiB")
	if hwm, ok := procStatus("VmHWM"); ok && rssOK {
		b.ReportMetric(float64(hwm)/mib, "peak-rss-MiB")
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/offlinePublishes, "ns/publish")
	b.ReportMetric(float64(refused), "refused")
}

// Reconnect cycles of BenchmarkReconnectGoroutines: reconnectModems
// emulated modems cycle concurrently, cyclesPerModem times each. The
// emulator waits 200 ms before it dials again after a dropped connection
// (modemsim's reconnectGuard, against a race in mochi), so 1000 cycles one
// after the other would take over 200 s.
const (
	reconnectModems = 25
	cyclesPerModem  = 40
)

// reconnector is one modem that loses its connection and reconnects.
type reconnector struct {
	sim   *modemsim.Sim
	cycle func() error // drop the connection and wait until it is back
}

// BenchmarkReconnectGoroutines runs 1000 connection-loss and reconnect
// cycles (modemsim DropConnection, cause 1) through Sessions (Connect again
// after the EventConnLost) and through root clients (automatic reconnect,
// awaited with the OnConnect handler), on 25 emulated modems at once, 40
// cycles each, and reports the process's goroutines with everything
// connected before and after (settled). One op is the 1000 cycles.
func BenchmarkReconnectGoroutines(b *testing.B) {
	b.Run("session", func(b *testing.B) { reconnectCycles(b, sessionReconnector) })
	b.Run("client", func(b *testing.B) { reconnectCycles(b, clientReconnector) })
}

func reconnectCycles(b *testing.B, setup func(tb testing.TB, br *modemsim.EmbeddedBroker, id string) reconnector) {
	for range b.N {
		b.StopTimer()
		sc := &scope{TB: b}
		br := startBroker(sc)
		rs := make([]reconnector, reconnectModems)
		for i := range rs {
			rs[i] = setup(sc, br, "bench-reconnect-"+strconv.Itoa(i))
		}
		before := settledGoroutines(-1)
		b.StartTimer()
		errs := make(chan error, len(rs))
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range cyclesPerModem {
					if err := r.cycle(); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		after := settledGoroutines(before)
		sc.close()
		b.ReportMetric(float64(before), "goroutines-before")
		b.ReportMetric(float64(after), "goroutines-after")
	}
}

func sessionReconnector(tb testing.TB, br *modemsim.EmbeddedBroker, id string) reconnector {
	sim := startSim(tb, modemsim.Config{}, br)
	_, s := sessionOn(tb, sim, id)
	opts := atmodem.ConnectOptions{Broker: "tcp://broker.example.com:1883", ClientID: id}
	return reconnector{sim: sim, cycle: func() error {
		if err := sim.DropConnection(0, modemsim.CauseSocketClosed); err != nil {
			return err
		}
		if err := awaitLost(s); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		return s.Connect(ctx, opts)
	}}
}

func clientReconnector(tb testing.TB, br *modemsim.EmbeddedBroker, id string) reconnector {
	sim := startSim(tb, modemsim.Config{}, br)
	connected := make(chan struct{}, 1)
	o := clientOptions(sim, id).
		SetConnectRetryInterval(time.Millisecond).SetMaxReconnectInterval(10 * time.Millisecond).
		SetOnConnectHandler(func(cellmqtt.Client) {
			select {
			case connected <- struct{}{}:
			default:
			}
		})
	connectClient(tb, o)
	if err := awaitSignal(connected); err != nil {
		tb.Fatal(err)
	}
	return reconnector{sim: sim, cycle: func() error {
		if err := sim.DropConnection(0, modemsim.CauseSocketClosed); err != nil {
			return err
		}
		return awaitSignal(connected)
	}}
}

// awaitLost waits for the session's connection-lost event.
func awaitLost(s *atmodem.Session) error {
	t := time.NewTimer(opTimeout)
	defer t.Stop()
	for {
		select {
		case ev := <-s.Events():
			if ev.Kind == atmodem.EventConnLost {
				return nil
			}
		case <-t.C:
			return errors.New("no connection-lost event")
		}
	}
}

// awaitSignal waits for one signal on ch.
func awaitSignal(ch <-chan struct{}) error {
	t := time.NewTimer(opTimeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return errors.New("no OnConnect")
	}
}

// settledGoroutines returns the number of goroutines once it stopped
// changing for 50 ms (and, when want >= 0, as soon as it is at most want),
// giving up after 2 s.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(2 * time.Second)
	n, since := runtime.NumGoroutine(), time.Now()
	for time.Now().Before(deadline) {
		if want >= 0 && n <= want {
			return n
		}
		time.Sleep(5 * time.Millisecond)
		if m := runtime.NumGoroutine(); m != n {
			n, since = m, time.Now()
		} else if time.Since(since) >= 50*time.Millisecond {
			return n
		}
	}
	return n
}
