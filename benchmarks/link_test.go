package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// linkBaud is the emulated serial link of the link-efficiency benchmarks.
const linkBaud = 115200

// linkCase is one publish shape of the link-efficiency benchmarks.
type linkCase struct {
	qos     byte
	payload int
	echo    modemsim.EchoMode
}

func (c linkCase) name() string {
	e := "echo"
	if c.echo == modemsim.EchoOff {
		e = "noecho"
	}
	return fmt.Sprintf("qos%d/%dB/%s", c.qos, c.payload, e)
}

// linkCases are the shapes of issue 7: QoS 0 and 1, 60 and 1000 bytes, a
// 9-byte topic; echo on (the firmware default, which the client keeps) and
// off.
func linkCases() []linkCase {
	var cs []linkCase
	for _, echo := range []modemsim.EchoMode{modemsim.EchoOn, modemsim.EchoOff} {
		for _, qos := range []byte{0, 1} {
			for _, n := range []int{60, 1000} {
				cs = append(cs, linkCase{qos: qos, payload: n, echo: echo})
			}
		}
	}
	return cs
}

// BenchmarkLinkSession publishes through atmodem.Session.Publish over
// modemsim at 115200 baud with no command latency, one publish after the
// other, and reports the rate achieved (msgs/s), the link's limit for the
// bytes each publish moved (limit-msgs/s, from the emulator's transcript),
// their ratio, and the bytes and commands per publish. Where the
// transcript shows it (QoS 1), it also reports how long the modem waited
// for the broker's PUBACK before its +CMQTTPUB result (broker-wait-us/op)
// and the ratio to the limit with that wait added (ratio-with-broker).
func BenchmarkLinkSession(b *testing.B) {
	for _, c := range linkCases() {
		b.Run(c.name(), func(b *testing.B) {
			br := startBroker(b)
			sim := startSim(b, modemsim.Config{Baud: linkBaud, Echo: c.echo}, br)
			_, s := sessionOn(b, sim, "bench-link")
			p := atmodem.Publish{Topic: topic9, Payload: payloadOf(c.payload), QoS: c.qos}
			ctx := context.Background()
			measureLink(b, sim, func() error { return s.Publish(ctx, p) })
		})
	}
}

// measureLink runs publish b.N times and reports the link metrics.
func measureLink(b *testing.B, sim *modemsim.Sim, publish func() error) {
	b.Helper()
	before := settledWire(sim, Wire{}, 1)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := publish(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportLink(b, sim, before, elapsed, b.N)
}

// reportLink reports rate, limit and ratio for n publishes that took
// elapsed and moved what the transcript gained since before.
func reportLink(b *testing.B, sim *modemsim.Sim, before Wire, elapsed time.Duration, n int) {
	b.Helper()
	moved := settledWire(sim, before, n).Sub(before)
	per := Wire{ToModem: moved.ToModem / n, ToHost: moved.ToHost / n, Commands: moved.Commands / n}
	rate := float64(n) / elapsed.Seconds()
	limit := LinkLimit(per, linkBaud)
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(limit, "limit-msgs/s")
	b.ReportMetric(rate/limit, "ratio")
	b.ReportMetric(float64(per.Bytes()), "wirebytes/op")
	b.ReportMetric(float64(per.Commands), "cmds/op")
	if wait, ok := pubResultWait(sim.Transcript(), linkBaud); ok {
		// The limit with the modem's wait for the broker added: what the
		// line and the broker allow together.
		withBroker := 1 / (1/limit + wait.Seconds())
		b.ReportMetric(float64(wait.Microseconds()), "broker-wait-us/op")
		b.ReportMetric(rate/withBroker, "ratio-with-broker")
	}
}

// pubResultWait is the median time the emulated modem took between the OK
// of AT+CMQTTPUB and the start of its "+CMQTTPUB: 0,0" result, from the
// transcript's timestamps (each entry's time is when its last byte had
// crossed the line, so a sample includes the emulator's timer lateness,
// up to about a millisecond): the emulator's publish to the broker and,
// for QoS 1 and 2, the broker's acknowledgement. It finds results that
// arrived as their own transcript entry only (the transcript merges bytes
// less than a millisecond apart), so mostly QoS 1.
func pubResultWait(entries []modemsim.TranscriptEntry, baud int) (time.Duration, bool) {
	var waits []time.Duration
	for i := 1; i < len(entries); i++ {
		e, prev := entries[i], entries[i-1]
		if e.Dir != modemsim.ToHost || prev.Dir != modemsim.ToHost ||
			!bytes.HasPrefix(e.Data, []byte("\r\n+CMQTTPUB: ")) || !bytes.HasSuffix(prev.Data, []byte("OK\r\n")) {
			continue
		}
		line := time.Duration(len(e.Data)*BitsPerByte) * time.Second / time.Duration(baud)
		waits = append(waits, max(e.Time.Sub(prev.Time)-line, 0))
	}
	if len(waits) == 0 {
		return 0, false
	}
	slices.Sort(waits)
	return waits[len(waits)/2], true
}

// settledWire waits until the transcript holds everything of the last
// operation: the emulator records a byte just after the line carried it, so
// the host may have read it a moment before. It returns once the bytes
// since before are a multiple of n (every operation moves the same bytes)
// and stop changing, or after a second.
func settledWire(sim *modemsim.Sim, before Wire, n int) Wire {
	deadline := time.Now().Add(time.Second)
	last := wireNow(sim)
	for time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
		w := wireNow(sim)
		d := w.Sub(before)
		if w == last && d.ToModem%n == 0 && d.ToHost%n == 0 {
			return w
		}
		last = w
	}
	return last
}

// BenchmarkLinkClient publishes through the root cellmqtt.Client over the
// same link: every message of the iteration is handed to Publish at once
// (the queue keeps the modem busy), then all tokens are awaited.
func BenchmarkLinkClient(b *testing.B) {
	for _, c := range linkCases() {
		b.Run(c.name(), func(b *testing.B) {
			br := startBroker(b)
			sim := startSim(b, modemsim.Config{Baud: linkBaud, Echo: c.echo}, br)
			cl := connectClient(b, clientOptions(sim, "bench-link-client"))
			payload := payloadOf(c.payload)
			before := settledWire(sim, Wire{}, 1)
			toks := make([]token, b.N)
			b.ResetTimer()
			start := time.Now()
			for i := range toks {
				toks[i] = cl.Publish(topic9, c.qos, false, payload)
			}
			for _, t := range toks {
				waitToken(b, t, "publish")
			}
			elapsed := time.Since(start)
			b.StopTimer()
			reportLink(b, sim, before, elapsed, b.N)
		})
	}
}
