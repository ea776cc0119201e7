package atmodem

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The example sessions of chapter 3 of both manuals, replayed against the
// scripted modem: the typed commands must write exactly the manuals'
// command lines and data, and read the manuals' answers as success.
//
// The transcripts below are the manuals' text with their comments removed.
// Kept as printed: the curly quotes (”...”), which are typesetting errors
// for '"' and are straightened by parseTranscript, and the blank after '>'
// in "> qwerty", which is how the manuals print the prompt (the data is the
// announced number of bytes without it). Fixed: the SIM7500/7600/7800
// manual's misspelled AT+CMQTPPAYLOAD / AT+CMQTPUB (its examples and the
// firmware use AT+CMQTTPAYLOAD / AT+CMQTTPUB). Left out: the received
// messages (+CMQTTRX...), which the engine's RX tests replay. In 3.5 the
// manuals' topic is garbled in print (9 bytes shown as "鼢鼢鼢鼢?"); a 9-byte
// UTF-8 topic stands in for it. After these fixes the two manuals' sessions
// are the same bytes; each is replayed under both models.

const manual31 = `
AT+CMQTTSTART
OK
+CMQTTSTART: 0
AT+CMQTTACCQ=0,”client test0”
OK
AT+CMQTTWILLTOPIC=0,10
>0123456789
OK
AT+CMQTTWILLMSG=0,6,1
> qwerty
OK
AT+CMQTTCONNECT=0,"tcp://test.mosquitto.org:1883",60,1
OK
+CMQTTCONNECT: 0,0
AT+CMQTTSUB=0,9,1
>simcommsg
OK
+CMQTTSUB: 0,0
AT+CMQTTTOPIC=0,9
> simcommsg
OK
AT+CMQTTPAYLOAD=0,60
> 012345678901234567890123456789012345678901234567890123456789
OK
AT+CMQTTPUB=0,1,60
OK
+CMQTTPUB: 0,0
AT+CMQTTSUBTOPIC=0,9,1
>123456789
OK
AT+CMQTTSUB=0
OK
+CMQTTSUB: 0,0
AT+CMQTTUNSUB=0,9,0
>simcommsg
OK
+CMQTTUNSUB: 0,0
` + endLines

// tlsTail is the common end of 3.2, 3.3 and 3.4 after CONNECT.
const tlsTail = `
AT+CMQTTTOPIC=0,13
> dddrrrggghhhk
OK
AT+CMQTTPAYLOAD=0,60
> 012345678901234567890123456789012345678901234567890123456789
OK
AT+CMQTTPUB=0,1,60
OK
+CMQTTPUB: 0,0
AT+CMQTTSUBTOPIC=0,9,1
>123456789
OK
AT+CMQTTSUB=0
OK
+CMQTTSUB: 0,0
AT+CMQTTSUB=0,9,1
>simcommsg
OK
+CMQTTSUB: 0,0
AT+CMQTTUNSUB=0,9,0
>simcommsg
OK
+CMQTTUNSUB: 0,0
` + endLines

const willLines = `
AT+CMQTTWILLTOPIC=0,10
>0123456789
OK
AT+CMQTTWILLMSG=0,6,1
> qwerty
OK
`

// endLines is the common end of every example: DISC, REL, STOP.
const endLines = `
AT+CMQTTDISC=0,120
OK
+CMQTTDISC: 0,0
AT+CMQTTREL=0
OK
AT+CMQTTSTOP
OK
+CMQTTSTOP: 0
`

const manual32 = `
AT+CMQTTSTART
OK
+CMQTTSTART: 0
AT+CMQTTACCQ=0,”client test0”,1
OK
` + willLines + `
AT+CMQTTCONNECT=0,"tcp://test.mosquitto.org:8883",60,1
OK
+CMQTTCONNECT: 0,0
` + tlsTail

const manual33 = `
AT+CSSLCFG=”sslversion”,0,4
OK
AT+CSSLCFG=”authmode”,0,1
OK
AT+CSSLCFG=”cacert”,0,”server_ca.pem”
OK
AT+CMQTTSTART
OK
+CMQTTSTART: 0
AT+CMQTTACCQ=0,”client test0”,1
OK
AT+CMQTTSSLCFG=0,0
OK
` + willLines + `
AT+CMQTTCONNECT=0,"tcp://mqtts_server:port",60,1
OK
+CMQTTCONNECT: 0,0
` + tlsTail

const manual34 = `
AT+CSSLCFG=”sslversion”,0,4
OK
AT+CSSLCFG=”authmode”,0,2
OK
AT+CSSLCFG=”cacert”,0,”ca_cert.pem”
OK
AT+CSSLCFG=”clientcert”,0,”cert.pem”
OK
AT+CSSLCFG=”clientkey”,0,”key_cert.pem”
OK
AT+CMQTTSTART
OK
+CMQTTSTART: 0
AT+CMQTTACCQ=0,”client test0”,1
OK
AT+CMQTTSSLCFG=0,0
OK
` + willLines + `
AT+CMQTTCONNECT=0,"tcp://hooleeping.com:8883",60,1
OK
+CMQTTCONNECT: 0,0
` + tlsTail

// topic35 is the 9-byte stand-in for the garbled topic of example 3.5.
const topic35 = "é鼢鼢?"

const manual35 = `
AT+CMQTTSTART
OK
+CMQTTSTART: 0
AT+CMQTTACCQ=0,”client test0”
OK
AT+CMQTTCFG=”checkUTF8”,0,0
OK
AT+CMQTTCONNECT=0,"tcp://test.mosquitto.org:1883",60,1
OK
+CMQTTCONNECT: 0,0
AT+CMQTTSUB=0,9,1
>` + topic35 + `
OK
+CMQTTSUB: 0,0
AT+CMQTTTOPIC=0,9
>` + topic35 + `
OK
AT+CMQTTPUB=0,1,60
OK
+CMQTTPUB: 0,0
` + endLines

// parseTranscript turns a manual transcript into script steps: an "AT" line
// is written by the host, a ">" line is the modem's prompt followed by the
// host's data, every other line is an answer of the modem.
func parseTranscript(t *testing.T, text string) []step {
	t.Helper()
	text = strings.NewReplacer("”", `"`, "“", `"`).Replace(text)
	var steps []step
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.HasPrefix(l, "AT"):
			steps = append(steps, step{expect: l + "\r"})
		case strings.HasPrefix(l, ">"):
			if len(steps) == 0 {
				t.Fatal("prompt before a command")
			}
			steps[len(steps)-1].reply += "\r\n>"
			d := strings.TrimPrefix(l[1:], " ")
			if _, n, _ := strings.Cut(steps[len(steps)-1].expect, ","); !strings.Contains(n, itoa(len(d))) {
				t.Fatalf("data %q does not have the length announced in %q", d, steps[len(steps)-1].expect)
			}
			steps = append(steps, step{expect: d})
		default:
			if len(steps) == 0 {
				t.Fatal("answer before a command")
			}
			steps[len(steps)-1].reply += "\r\n" + l + "\r\n"
		}
	}
	return steps
}

// call is one typed call of an example, or (from calls) the whole sequence
// of calls of one example.
type call = func(ctx context.Context, m *Modem) error

// calls runs fs in order and names the first that fails.
func calls(fs ...call) call {
	return func(ctx context.Context, m *Modem) error {
		for i, f := range fs {
			if err := f(ctx, m); err != nil {
				return &stepError{i, err}
			}
		}
		return nil
	}
}

type stepError struct {
	i   int
	err error
}

func (e *stepError) Error() string { return "call " + itoa(e.i) + ": " + e.err.Error() }

var payload60 = []byte("012345678901234567890123456789012345678901234567890123456789")

func manualCalls() map[string]call {
	start := func(ctx context.Context, m *Modem) error { return m.StartService(ctx) }
	accq := func(t ServerType) call {
		return func(ctx context.Context, m *Modem) error { return m.Acquire(ctx, 0, "client test0", t) }
	}
	will := []call{
		func(ctx context.Context, m *Modem) error { return m.SetWillTopic(ctx, 0, "0123456789") },
		func(ctx context.Context, m *Modem) error { return m.SetWillMessage(ctx, 0, []byte("qwerty"), 1) },
	}
	connect := func(server string) call {
		return func(ctx context.Context, m *Modem) error {
			return m.ConnectClient(ctx, 0, ConnectArgs{Server: server, KeepAlive: time.Minute, CleanSession: true})
		}
	}
	end := []call{
		func(ctx context.Context, m *Modem) error { return m.DisconnectClient(ctx, 0, 120*time.Second) },
		func(ctx context.Context, m *Modem) error { return m.Release(ctx, 0) },
		func(ctx context.Context, m *Modem) error { return m.StopService(ctx) },
	}
	pub := func(topic string, payload []byte) []call {
		fs := []call{func(ctx context.Context, m *Modem) error { return m.SetTopic(ctx, 0, topic) }}
		if payload != nil {
			fs = append(fs, func(ctx context.Context, m *Modem) error { return m.SetPayload(ctx, 0, payload) })
		}
		return append(fs, func(ctx context.Context, m *Modem) error {
			return m.PublishMessage(ctx, 0, 1, time.Minute, false, false)
		})
	}
	subOne := func(topic string) call {
		return func(ctx context.Context, m *Modem) error { return m.SubscribeTopic(ctx, 0, topic, 1, false) }
	}
	subMulti := []call{
		func(ctx context.Context, m *Modem) error { return m.SetSubscribeTopic(ctx, 0, "123456789", 1) },
		func(ctx context.Context, m *Modem) error { return m.SubscribeTopics(ctx, 0, false) },
	}
	unsub := func(ctx context.Context, m *Modem) error { return m.UnsubscribeTopic(ctx, 0, "simcommsg", false) }
	ssl := func(key, file string) call {
		return func(ctx context.Context, m *Modem) error {
			switch key {
			case "cacert":
				return m.SetSSLCACert(ctx, 0, file)
			case "clientcert":
				return m.SetSSLClientCert(ctx, 0, file)
			}
			return m.SetSSLClientKey(ctx, 0, file)
		}
	}
	version := func(ctx context.Context, m *Modem) error { return m.SetSSLVersion(ctx, 0, SSLVersionAll) }
	auth := func(a AuthMode) call {
		return func(ctx context.Context, m *Modem) error { return m.SetSSLAuthMode(ctx, 0, a) }
	}
	sslcfg := func(ctx context.Context, m *Modem) error { return m.SetSSLContext(ctx, 0, 0) }
	tail := func() []call {
		fs := pub("dddrrrggghhhk", payload60)
		fs = append(fs, subMulti...)
		fs = append(fs, subOne("simcommsg"), unsub)
		return append(fs, end...)
	}
	join := func(parts ...[]call) []call {
		var out []call
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	one := func(fs ...call) []call {
		return fs
	}
	return map[string]call{
		"3.1": calls(join(one(start, accq(ServerTCP)), will, one(connect("tcp://test.mosquitto.org:1883"), subOne("simcommsg")),
			pub("simcommsg", payload60), subMulti, one(unsub), end)...),
		"3.2": calls(join(one(start, accq(ServerTLS)), will, one(connect("tcp://test.mosquitto.org:8883")), tail())...),
		"3.3": calls(join(one(version, auth(AuthServer), ssl("cacert", "server_ca.pem"), start, accq(ServerTLS), sslcfg), will,
			one(connect("tcp://mqtts_server:port")), tail())...),
		"3.4": calls(join(one(version, auth(AuthServerClient), ssl("cacert", "ca_cert.pem"), ssl("clientcert", "cert.pem"),
			ssl("clientkey", "key_cert.pem"), start, accq(ServerTLS), sslcfg), will, one(connect("tcp://hooleeping.com:8883")), tail())...),
		"3.5": calls(join(one(start, accq(ServerTCP), func(ctx context.Context, m *Modem) error { return m.SetCheckUTF8(ctx, 0, false) },
			connect("tcp://test.mosquitto.org:1883"), subOne(topic35)), pub(topic35, nil), end)...),
	}
}

func TestManualExamples(t *testing.T) {
	transcripts := map[string]string{"3.1": manual31, "3.2": manual32, "3.3": manual33, "3.4": manual34, "3.5": manual35}
	runs := manualCalls()
	for _, manual := range []struct {
		name  string
		model Model
	}{{"A7600 manual", A7600}, {"SIM7600 manual", SIM7600}} {
		for _, section := range []string{"3.1", "3.2", "3.3", "3.4", "3.5"} {
			t.Run(manual.name+"/"+section, func(t *testing.T) {
				forEachDelivery(t, func(t *testing.T, mode delivery) {
					steps := parseTranscript(t, transcripts[section])
					m, sm := startModem(t, mode, steps, WithModel(manual.model))
					if err := runs[section](testCtx(t), m); err != nil {
						t.Fatal(err)
					}
					sm.waitSteps(t)
					var want strings.Builder
					for _, s := range steps {
						want.WriteString(s.expect)
					}
					if got := sm.written(); got != want.String() {
						t.Errorf("wrote\n%q\nwant\n%q", got, want.String())
					}
				})
			})
		}
	}
}
