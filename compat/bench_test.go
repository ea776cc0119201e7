package compat

import (
	"context"
	"testing"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// BenchmarkPublish measures one QoS 1 publish, confirmed, over the
// emulated modem (unlimited link speed) through three paths: the real
// paho.mqtt.golang client over the compat adapter, the native cellmqtt
// client, and atmodem.Session.Publish alone. The difference between the
// first two is what the adapter costs on top of the AT exchange.
func BenchmarkPublish(b *testing.B) {
	payload := make([]byte, 256)
	b.Run("paho-over-compat", func(b *testing.B) {
		r := newRig(b, modemsim.EmbeddedOptions{}, simcom.A7600)
		o := mqtt.NewClientOptions().AddBroker(r.broker.URL()).SetClientID("bench-paho").
			SetCustomOpenConnectionFn(OpenConnectionFn(r.modem))
		c := mqtt.NewClient(o)
		waitToken(b, c.Connect(), "connect")
		defer c.Disconnect(1000)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			waitToken(b, c.Publish("bench/paho", 1, false, payload), "publish")
		}
	})
	b.Run("native-cellmqtt", func(b *testing.B) {
		r := newRig(b, modemsim.EmbeddedOptions{}, simcom.A7600)
		c := cellmqtt.NewClient(cellmqtt.NewClientOptions().AddBroker(r.broker.URL()).
			SetClientID("bench-native").SetModem(r.modem).SetModel(atmodem.A7600))
		if tok := c.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
			b.Fatalf("connect: %v", tok.Error())
		}
		defer c.Disconnect(1000)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if tok := c.Publish("bench/native", 1, false, payload); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
				b.Fatalf("publish: %v", tok.Error())
			}
		}
	})
	b.Run("atmodem-session", func(b *testing.B) {
		r := newRig(b, modemsim.EmbeddedOptions{}, simcom.A7600)
		s, err := r.modem.Session(0)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		if err := s.Connect(ctx, atmodem.ConnectOptions{Broker: r.broker.URL(), ClientID: "bench-session", CleanSession: true}); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = s.Disconnect(ctx, 0) }()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := s.Publish(ctx, atmodem.Publish{Topic: "bench/session", Payload: payload, QoS: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
