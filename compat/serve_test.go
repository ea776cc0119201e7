package compat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// gateway runs Serve on a free loopback port in front of the rig's modem
// and returns the listener's address; the test's cleanup closes the
// listener and checks that Serve returned nil.
func gateway(t *testing.T, r *rig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- Serve(ln, r.modem, r.broker.URL(), WithLogger(testLogger()), withServeWaits(2*time.Second, 2*time.Second))
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v, want nil after the listener closed", err)
		}
	})
	return ln.Addr().String()
}

// withServeWaits sets Serve's wait for a client's CONNECT and for a free
// client index: the gateway tests exercise both waits running out, which
// takes the same path after 2 s as after the defaults (5 s and 30 s).
func withServeWaits(connect, index time.Duration) Option {
	return func(c *config) { c.connectWait, c.indexWait = connect, index }
}

// localClient is a plain paho.mqtt.golang client over TCP to the gateway.
func localClient(t *testing.T, addr, id string, rec *received) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(waitTimeout)
	if rec != nil {
		o.SetDefaultPublishHandler(rec.handler)
	}
	return mqtt.NewClient(o)
}

func TestServeTwoClientsAndARefusedThird(t *testing.T) {
	t.Parallel() // the third client waits 2 s for an index
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	addr := gateway(t, r)

	got := newReceived()
	sub := localClient(t, addr, "gw-sub", got)
	waitToken(t, sub.Connect(), "first local client")
	waitToken(t, sub.Subscribe("gw/#", 1, got.handler), "subscribe")
	pub := localClient(t, addr, "gw-pub", nil)
	waitToken(t, pub.Connect(), "second local client")

	// Both client indexes are taken: a third client waits a few seconds
	// for one, then is refused in its own protocol version.
	third := localClient(t, addr, "gw-third", nil)
	tok := third.Connect()
	if !tok.WaitTimeout(waitTimeout) {
		t.Fatal("third client: no CONNACK")
	}
	if rc := tok.(*mqtt.ConnectToken).ReturnCode(); rc != 3 {
		t.Errorf("third 3.1.1 client: return code %d, want 3 (server unavailable)", rc)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c5 := paho.NewClient(paho.ClientConfig{Conn: conn})
	ca, err := c5.Connect(testContext(t), &paho.Connect{ClientID: "gw-third5", KeepAlive: 30, CleanStart: true})
	if err == nil || ca == nil || ca.ReasonCode != 0x88 {
		t.Errorf("third MQTT 5 client: CONNACK %+v, %v; want 0x88", ca, err)
	}
	<-c5.Done()

	payload := bytes.Repeat([]byte{0xA5, 0}, 2048)
	waitToken(t, pub.Publish("gw/data", 2, false, payload), "publish through the gateway")
	if m := got.wait(t, "gw/data", 1); !bytes.Equal(m[0], payload) {
		t.Errorf("payload changed through the gateway")
	}

	// A client that leaves frees its index for the next one, which is
	// served even when its CONNECT comes before the gateway has read the
	// DISCONNECT of the one that left.
	pub.Disconnect(1000)
	again := localClient(t, addr, "gw-again", nil)
	waitToken(t, again.Connect(), "client after one left")
	again.Disconnect(1000)
	sub.Disconnect(1000)
}

// waitIndexesFree waits until the gateway has given the first n client
// indexes of the rig's modem back: each is claimed (and let go) in turn,
// and a failed claim waits for the next release the gateway finishes.
func waitIndexesFree(t *testing.T, r *rig, n int) {
	t.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		_, released := releases.watch(r.modem)
		free := 0
		for i := range n {
			s, err := r.modem.Session(i)
			if err != nil {
				break
			}
			_ = s.Close()
			free++
		}
		if free == n {
			return
		}
		select {
		case <-released:
		case <-timeout.C:
			t.Fatalf("client index %d still held by the gateway after %v", free, waitTimeout)
		}
	}
}

// TestServeMosquittoClients drives the gateway with mosquitto_pub and
// mosquitto_sub, independent MQTT implementations.
func TestServeMosquittoClients(t *testing.T) {
	if os.Getenv("CELLMQTT_INTEROP") != "1" {
		t.Skip("set CELLMQTT_INTEROP=1 to run the mosquitto_pub/mosquitto_sub tests (apt-get install mosquitto-clients)")
	}
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("CELLMQTT_INTEROP=1 but %s is missing: %v", tool, err)
		}
	}
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.SIM7600)
	addr := gateway(t, r)
	host, port, _ := net.SplitHostPort(addr)
	// Each refusal of a third client comes after the gateway waited a few
	// seconds for an index.
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()

	mosquitto := func(tool, version string, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, tool, append([]string{"-h", host, "-p", port, "-V", version}, args...)...)
	}
	for _, version := range []string{"mqttv311", "mqttv5"} {
		t.Run(version, func(t *testing.T) {
			// Two Go clients take both client indexes: mosquitto_pub and
			// mosquitto_sub, third each, are refused cleanly.
			var holds []mqtt.Client
			for i := range 2 {
				h := localClient(t, addr, fmt.Sprintf("hold-%s-%d", version, i), nil)
				waitToken(t, h.Connect(), "local Go client")
				holds = append(holds, h)
			}
			for _, cmd := range []*exec.Cmd{
				mosquitto("mosquitto_pub", version, "-i", "third-pub", "-t", "mq/x", "-m", "no"),
				mosquitto("mosquitto_sub", version, "-i", "third-sub", "-t", "mq/#", "-C", "1"),
			} {
				msg, err := cmd.CombinedOutput()
				if err == nil {
					t.Errorf("%s was not refused: %s", cmd.Args[0], msg)
				} else if !strings.Contains(strings.ToLower(string(msg)), "unavailable") {
					t.Errorf("%s refused with %q, want server unavailable", cmd.Args[0], msg)
				}
			}
			for _, h := range holds {
				h.Disconnect(1000)
			}

			// A retained message from mosquitto_pub reaches mosquitto_sub
			// when it subscribes, both through the gateway and the modem.
			topic := "mq/" + version
			if msg, err := mosquitto("mosquitto_pub", version, "-i", "mpub", "-t", topic,
				"-m", "hello", "-q", "1", "-r").CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_pub: %v: %s", err, msg)
			}
			out, err := mosquitto("mosquitto_sub", version, "-i", "msub", "-t", topic,
				"-q", "1", "-C", "1", "-v").CombinedOutput()
			if err != nil {
				t.Fatalf("mosquitto_sub: %v: %s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != topic+" hello" {
				t.Errorf("mosquitto_sub printed %q, want %q", got, topic+" hello")
			}
		})
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("interop test ran out of time")
	}
}

// A local client that goes silent for longer than its keepalive allows is
// disconnected by the gateway, which frees its client index.
func TestServeDropsSilentClient(t *testing.T) {
	t.Parallel() // waits 4.5 s for the keepalive to run out
	r := newRig(t, modemsim.EmbeddedOptions{}, simcom.A7600)
	addr := gateway(t, r)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	c := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	c.ProtocolName, c.ProtocolVersion, c.ClientIdentifier, c.CleanSession, c.Keepalive = "MQTT", 4, "silent", true, 3
	if _, err := conn.Write(encode311(c)); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil || !bytes.Equal(ack, []byte{0x20, 0x02, 0x00, 0x00}) {
		t.Fatalf("CONNACK % x, %v", ack, err)
	}
	// No PINGREQ: after 4.5 s the gateway closes the connection.
	if n, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %d bytes, %v; want the gateway to close the connection (EOF)", n, err)
	}
}
