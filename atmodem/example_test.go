package atmodem_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// answeringModem is a tiny stand-in for a modem's AT port, enough for the
// examples and benchmarks: it answers every MQTT command at once with
// success, prompts for data commands, and sends a publish back as a
// received message when its topic was subscribed (like a broker would).
type answeringModem struct {
	mu     sync.Mutex
	cond   *sync.Cond
	out    []byte // readable by the host
	in     []byte // written by the host, not yet handled
	want   int    // data bytes expected after a prompt
	after  func(data []byte)
	closed bool

	topic   []byte          // AT+CMQTTTOPIC data
	payload []byte          // AT+CMQTTPAYLOAD data
	subs    map[string]bool // subscribed topics
	prompt  string          // "\r\n>"
}

func newAnsweringModem() *answeringModem {
	a := &answeringModem{subs: map[string]bool{}, prompt: "\r\n>"}
	a.cond = sync.NewCond(&a.mu)
	return a
}

// Read returns what the modem sent.
func (a *answeringModem) Read(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.out) == 0 && !a.closed {
		a.cond.Wait()
	}
	if len(a.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, a.out)
	a.out = a.out[:copy(a.out, a.out[n:])]
	return n, nil
}

// Write takes command lines and data and answers them.
func (a *answeringModem) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, io.ErrClosedPipe
	}
	a.in = append(a.in, p...)
	for {
		if a.want > 0 {
			if len(a.in) < a.want {
				break
			}
			data := a.in[:a.want]
			a.want = 0
			a.after(data)
			a.in = a.in[:copy(a.in, a.in[len(data):])]
			continue
		}
		i := bytes.IndexByte(a.in, '\r')
		if i < 0 {
			break
		}
		a.command(string(a.in[:i]))
		a.in = a.in[:copy(a.in, a.in[i+1:])]
	}
	a.cond.Broadcast()
	return len(p), nil
}

// Close ends the stream.
func (a *answeringModem) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	a.cond.Broadcast()
	return nil
}

func (a *answeringModem) send(s string) { a.out = append(a.out, s...) }

// expect prompts for n data bytes and runs then once they are in.
func (a *answeringModem) expect(n int, then func(data []byte)) {
	a.send(a.prompt)
	a.want, a.after = n, then
}

// command answers one command line; a.mu is held.
func (a *answeringModem) command(line string) {
	name, args, _ := strings.Cut(line, "=")
	f := strings.Split(args, ",")
	idx := f[0]
	ok := func([]byte) { a.send("\r\nOK\r\n") }
	switch name {
	case "AT+CMQTTSTART", "AT+CMQTTSTOP":
		a.send("\r\nOK\r\n\r\n" + name[2:] + ": 0\r\n")
	case "AT+CMQTTCONNECT", "AT+CMQTTDISC", "AT+CMQTTPUB", "AT+CMQTTUNSUB":
		if name == "AT+CMQTTUNSUB" && len(f) == 3 {
			n, _ := strconv.Atoi(f[1])
			a.expect(n, func([]byte) { a.send("\r\nOK\r\n\r\n+CMQTTUNSUB: " + idx + ",0\r\n") })
			return
		}
		a.send("\r\nOK\r\n\r\n" + name[2:] + ": " + idx + ",0\r\n")
		if name == "AT+CMQTTPUB" && a.subs[string(a.topic)] {
			a.deliver(idx, a.topic, a.payload)
		}
	case "AT+CMQTTSUB":
		if len(f) < 3 {
			a.send("\r\nOK\r\n\r\n+CMQTTSUB: " + idx + ",0\r\n")
			return
		}
		n, _ := strconv.Atoi(f[1])
		a.expect(n, func(d []byte) {
			a.subs[string(d)] = true
			a.send("\r\nOK\r\n\r\n+CMQTTSUB: " + idx + ",0\r\n")
		})
	case "AT+CMQTTTOPIC":
		n, _ := strconv.Atoi(f[1])
		a.payload = a.payload[:0]
		a.expect(n, func(d []byte) { a.topic = append(a.topic[:0], d...); ok(nil) })
	case "AT+CMQTTPAYLOAD":
		n, _ := strconv.Atoi(f[1])
		a.expect(n, func(d []byte) { a.payload = append(a.payload[:0], d...); ok(nil) })
	case "AT+CMQTTWILLTOPIC", "AT+CMQTTWILLMSG", "AT+CMQTTSUBTOPIC", "AT+CMQTTUNSUBTOPIC", "AT+CCERTDOWN":
		n, _ := strconv.Atoi(f[1])
		a.expect(n, ok)
	case "AT+CMQTTACCQ?":
		a.send("\r\n+CMQTTACCQ: 0,\"\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n\r\nOK\r\n")
	case "AT+CSQ":
		a.send("\r\n+CSQ: 23,0\r\n\r\nOK\r\n")
	case "AT+CMEE?":
		a.send("\r\n+CMEE: 0\r\n\r\nOK\r\n")
	default:
		a.send("\r\nOK\r\n")
	}
}

// deliver sends a received message as the modem's RX URCs.
func (a *answeringModem) deliver(idx string, topic, payload []byte) {
	a.send(fmt.Sprintf("\r\n+CMQTTRXSTART: %s,%d,%d\r\n+CMQTTRXTOPIC: %s,%d\r\n", idx, len(topic), len(payload), idx, len(topic)))
	a.out = append(a.out, topic...)
	a.send(fmt.Sprintf("\r\n+CMQTTRXPAYLOAD: %s,%d\r\n", idx, len(payload)))
	a.out = append(a.out, payload...)
	a.send("\r\n+CMQTTRXEND: " + idx + "\r\n")
}

// Connect, publish and disconnect on client index 0.
func ExampleSession_Publish() {
	m := atmodem.New(newAnsweringModem(), atmodem.WithModel(atmodem.A7600))
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s, err := m.Session(0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	err = s.Connect(ctx, atmodem.ConnectOptions{
		Broker:    "mqtt://broker.example.com",
		ClientID:  "sensor-17",
		KeepAlive: 60 * time.Second,
		Will:      &atmodem.Will{Topic: "sensors/17/status", Payload: []byte("offline"), QoS: 1},
	})
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	err = s.Publish(ctx, atmodem.Publish{Topic: "sensors/17/temp", Payload: []byte("21.5"), QoS: 1})
	fmt.Println("publish:", err)
	fmt.Println("disconnect:", s.Disconnect(ctx, 0))
	// Output:
	// publish: <nil>
	// disconnect: <nil>
}

// Subscribe and receive the messages of the index as events.
func ExampleSession_Subscribe() {
	m := atmodem.New(newAnsweringModem(), atmodem.WithModel(atmodem.SIM7600))
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s, err := m.ClaimFreeSession()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	if err := s.Connect(ctx, atmodem.ConnectOptions{Broker: "mqtt://broker.example.com", ClientID: "display-3"}); err != nil {
		fmt.Println("connect:", err)
		return
	}
	if err := s.Subscribe(ctx, atmodem.Subscription{Topic: "sensors/17/temp", QoS: 1}); err != nil {
		fmt.Println("subscribe:", err)
		return
	}
	// The answering modem sends a publish to a subscribed topic back.
	if err := s.Publish(ctx, atmodem.Publish{Topic: "sensors/17/temp", Payload: []byte("21.5")}); err != nil {
		fmt.Println("publish:", err)
		return
	}
	ev := <-s.Events()
	if ev.Kind == atmodem.EventMessage {
		fmt.Printf("index %d: %s = %s\n", ev.Index, ev.Message.Topic, ev.Message.Payload)
	}
	// Output:
	// index 0: sensors/17/temp = 21.5
}

// The connect sequence validates every parameter before writing a byte.
func ExampleSession_CheckConnect() {
	m := atmodem.New(newAnsweringModem(), atmodem.WithModel(atmodem.SIM7600))
	defer m.Close()
	s, _ := m.Session(1)
	defer s.Close()
	err := s.CheckConnect(atmodem.ConnectOptions{
		Broker:   "tls://broker.example.com",
		ClientID: "a-client-id-longer-than-23-bytes",
	})
	fmt.Println(err)
	// Output:
	// atmodem: clientID: length 32 out of range 1-23 bytes (SIM7600)
}

// Broker URLs select the server type; the modem always gets tcp://.
func ExampleParseBroker() {
	for _, u := range []string{"mqtt://broker.example.com", "mqtts://broker.example.com", "ssl://10.0.0.1:8884"} {
		b, err := atmodem.ParseBroker(u)
		fmt.Println(b.Addr, b.Type, err)
	}
	// Output:
	// tcp://broker.example.com:1883 tcp <nil>
	// tcp://broker.example.com:8883 tls <nil>
	// tcp://10.0.0.1:8884 tls <nil>
}

// Ask the modem for its signal quality.
func ExampleModem_SignalQuality() {
	m := atmodem.New(newAnsweringModem(), atmodem.WithModel(atmodem.A7600))
	defer m.Close()
	sig, err := m.SignalQuality(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	dbm, _ := sig.DBm()
	fmt.Printf("RSSI %d (%d dBm)\n", sig.RSSI, dbm)
	// Output:
	// RSSI 23 (-67 dBm)
}
