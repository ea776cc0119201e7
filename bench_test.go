package cellmqtt

import (
	"fmt"
	"testing"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// BenchmarkPublish measures the client's CPU time and allocations per
// confirmed publish over an instantly answering emulator link (no baud
// limit, no latency), the modem's answers and the broker round trip
// included. Queue operations are benchmarked in package queue.
func BenchmarkPublish(b *testing.B) {
	for _, qos := range []byte{0, 1, 2} {
		b.Run(fmt.Sprintf("qos%d", qos), func(b *testing.B) {
			broker, err := modemsim.StartEmbeddedBroker(modemsim.EmbeddedOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer broker.Close()
			sim, err := modemsim.New(modemsim.Config{Broker: broker.URL(), TranscriptLimit: 1024})
			if err != nil {
				b.Fatal(err)
			}
			defer sim.Close()
			c := NewClient(NewClientOptions().AddBroker("tcp://broker.invalid:1883").SetClientID("bench").
				SetTransport(sim.Conn()).SetLivenessInterval(0))
			if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
				b.Fatal(tok.Error())
			}
			defer c.Disconnect(0)
			payload := make([]byte, 100)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if tok := c.Publish("bench/topic", qos, false, payload); tok.Wait() && tok.Error() != nil {
					b.Fatal(tok.Error())
				}
			}
		})
	}
}
