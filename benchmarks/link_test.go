package benchmarks

import (
	"context"
	"fmt"
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

// engineOptions keeps the modem's echo in the echo-on cases: the engine
// turns it off otherwise (ATE0 at open).
func (c linkCase) engineOptions() []atmodem.Option {
	if c.echo == modemsim.EchoOff {
		return nil
	}
	return []atmodem.Option{atmodem.WithKeepEcho()}
}

// linkCases are the shapes of issue 7: QoS 0 and 1, 60 and 1000 bytes, a
// 9-byte topic; echo on (the firmware default, kept with WithKeepEcho) and
// off (what the engine sets at open).
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
// their ratio, and the bytes and commands per publish. gap-us/op is the
// time per publish beyond the line time of its bytes; host-turn-us/op the
// part of it the host took (engine, client, Go scheduler): from reading the
// end of an answer or prompt to writing what follows, summed over the
// publish; the rest is the emulated modem's and the broker's. ratio-host is
// the ratio the host alone allows: line time / (line time + host turns),
// what a modem that answers at once would get.
func BenchmarkLinkSession(b *testing.B) {
	for _, c := range linkCases() {
		b.Run(c.name(), func(b *testing.B) {
			br := startBroker(b)
			sim := startSim(b, modemsim.Config{Baud: linkBaud, Echo: c.echo}, br)
			tc := &timedConn{ReadWriteCloser: sim.Conn()}
			_, s := sessionOver(b, sim, tc, "bench-link", c.engineOptions()...)
			p := atmodem.Publish{Topic: topic9, Payload: payloadOf(c.payload), QoS: c.qos}
			ctx := context.Background()
			measureLink(b, sim, tc, func() error { return s.Publish(ctx, p) })
		})
	}
}

// measureLink runs publish b.N times and reports the link metrics.
func measureLink(b *testing.B, sim *modemsim.Sim, tc *timedConn, publish func() error) {
	b.Helper()
	before := settledWire(sim, Wire{}, 1)
	turns := tc.turnTime()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := publish(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportLink(b, sim, before, elapsed, tc.turnTime()-turns, b.N)
}

// reportLink reports rate, limit and ratio for n publishes that took
// elapsed, of which the host took turns, and moved what the transcript
// gained since before.
func reportLink(b *testing.B, sim *modemsim.Sim, before Wire, elapsed, turns time.Duration, n int) {
	b.Helper()
	moved := settledWire(sim, before, n).Sub(before)
	per := Wire{ToModem: moved.ToModem / n, ToHost: moved.ToHost / n, Commands: moved.Commands / n}
	rate := float64(n) / elapsed.Seconds()
	limit := LinkLimit(per, linkBaud)
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(limit, "limit-msgs/s")
	b.ReportMetric(rate/limit, "ratio")
	// What the conversation took beyond the line time of its bytes, and
	// the host's part of it.
	turn := turns.Seconds() / float64(n)
	b.ReportMetric((elapsed.Seconds()/float64(n)-1/limit)*1e6, "gap-us/op")
	b.ReportMetric(turn*1e6, "host-turn-us/op")
	b.ReportMetric(1/limit/(1/limit+turn), "ratio-host")
	b.ReportMetric(float64(per.Bytes()), "wirebytes/op")
	b.ReportMetric(float64(per.Commands), "cmds/op")
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
			tc := &timedConn{ReadWriteCloser: sim.Conn()}
			m := atmodem.New(tc, append([]atmodem.Option{atmodem.WithModel(sim.Model())}, c.engineOptions()...)...)
			b.Cleanup(func() { m.Close() })
			cl := connectClient(b, clientOptionsOver(sim, nil, "bench-link-client").SetModem(m))
			payload := payloadOf(c.payload)
			before := settledWire(sim, Wire{}, 1)
			turns := tc.turnTime()
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
			reportLink(b, sim, before, elapsed, tc.turnTime()-turns, b.N)
		})
	}
}
