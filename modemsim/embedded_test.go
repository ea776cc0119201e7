package modemsim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

func ExampleStartEmbeddedBroker() {
	b, err := StartEmbeddedBroker(EmbeddedOptions{Username: "device", Password: "secret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	// An emulated modem whose AT+CMQTTCONNECT goes to the embedded broker.
	sim, err := New(Config{Broker: b.URL()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sim.Close()
	fmt.Println(strings.HasPrefix(b.URL(), "tcp://127.0.0.1:"))
	// Output: true
}

func TestEmbeddedBrokerOptions(t *testing.T) {
	if _, err := StartEmbeddedBroker(EmbeddedOptions{Password: "p"}); err == nil {
		t.Error("a password without a user name was accepted")
	}
	if _, err := StartEmbeddedBroker(EmbeddedOptions{Addr: "256.0.0.1:0"}); err == nil {
		t.Error("an address that cannot be listened on was accepted")
	}
	pki := newTestPKI(t, currentValidity())
	plain := startEmbedded(t, EmbeddedOptions{})
	secure := startEmbedded(t, EmbeddedOptions{TLS: pki.serverTLS(false)})
	if !strings.HasPrefix(plain.URL(), "tcp://127.0.0.1:") || plain.URL() != "tcp://"+plain.Addr() {
		t.Errorf("plain URL %q, Addr %q", plain.URL(), plain.Addr())
	}
	if secure.URL() != "ssl://"+secure.Addr() {
		t.Errorf("TLS URL %q, Addr %q", secure.URL(), secure.Addr())
	}
	if err := plain.Close(); err != nil {
		t.Fatal(err)
	}
	if err := plain.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestEmbeddedBrokerPublishAndDropClient(t *testing.T) {
	b := startEmbedded(t, EmbeddedOptions{})
	rec := newRecorder()
	link := dialTest(t, plainConfig(b.Addr(), "dev"), rec.events(), simcom.CodeOK)
	if code := link.Subscribe([]string{"cmd/#"}, []byte{1}, testWait); code != simcom.CodeOK {
		t.Fatalf("Subscribe = %d", code)
	}
	if err := b.Publish("cmd/reboot", []byte("now"), false, 1); err != nil {
		t.Fatal(err)
	}
	if got := rec.next(t); got.topic != "cmd/reboot" || got.payload != "now" {
		t.Errorf("got %+v", got)
	}
	if b.DropClient("nobody") {
		t.Error("DropClient of an unknown client reported true")
	}
	if !b.DropClient("dev") {
		t.Fatal("DropClient(dev) = false")
	}
	if cause := rec.nextLost(t); cause != 1 {
		t.Errorf("Lost(%d), want 1", cause)
	}
	if b.DropClient("dev") {
		t.Error("DropClient of a dropped client reported true")
	}
}

// BenchmarkLinkPublish measures a publish through the back-end to an
// embedded broker, up to the broker's acknowledgement.
func BenchmarkLinkPublish(b *testing.B) {
	broker := startEmbedded(b, EmbeddedOptions{})
	link := dialTest(b, plainConfig(broker.Addr(), "bench"), newRecorder().events(), simcom.CodeOK)
	payload := make([]byte, 1024)
	for qos := byte(0); qos <= 2; qos++ {
		b.Run(fmt.Sprintf("qos%d", qos), func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if code := link.Publish("bench", payload, qos, false, false, 10*time.Second); code != simcom.CodeOK {
					b.Fatalf("Publish = %d", code)
				}
			}
		})
	}
}
