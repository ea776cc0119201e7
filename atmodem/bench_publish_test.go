package atmodem_test

import (
	"context"
	"testing"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// benchmarkPublish measures one publish sequence (AT+CMQTTTOPIC + data,
// AT+CMQTTPAYLOAD + data, AT+CMQTTPUB and its result) against a modem that
// answers at once. The allocations include the answering modem's.
func benchmarkPublish(b *testing.B, payload []byte, qos byte) {
	m := atmodem.New(newAnsweringModem(), atmodem.WithModel(atmodem.A7600))
	defer m.Close()
	s, err := m.Session(0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	p := atmodem.Publish{Topic: "bench/sensors/17/temperature", Payload: payload, QoS: qos}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Publish(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPublish64B(b *testing.B)  { benchmarkPublish(b, make([]byte, 64), 1) }
func BenchmarkPublish10KB(b *testing.B) { benchmarkPublish(b, make([]byte, 10240), 1) }
