package cellmqtt

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// refusingModem answers the client's MQTT commands at once with success,
// except AT+CMQTTPUB, which it answers with +CMQTTPUB: <index>,<pubCode>.
// It counts the PUB commands.
type refusingModem struct {
	mu      sync.Mutex
	cond    *sync.Cond
	out     []byte // readable by the host
	in      []byte // written by the host, not yet handled
	want    int    // data bytes expected after a prompt
	closed  bool
	pubCode int
	pubs    int
}

func newRefusingModem(pubCode int) *refusingModem {
	r := &refusingModem{pubCode: pubCode}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *refusingModem) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.out) == 0 && !r.closed {
		r.cond.Wait()
	}
	if len(r.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.out)
	r.out = r.out[:copy(r.out, r.out[n:])]
	return n, nil
}

func (r *refusingModem) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, io.ErrClosedPipe
	}
	r.in = append(r.in, p...)
	for {
		if r.want > 0 {
			if len(r.in) < r.want {
				break
			}
			r.in = r.in[:copy(r.in, r.in[r.want:])]
			r.want = 0
			r.out = append(r.out, "\r\nOK\r\n"...)
			continue
		}
		i := bytes.IndexByte(r.in, '\r')
		if i < 0 {
			break
		}
		r.command(string(r.in[:i]))
		r.in = r.in[:copy(r.in, r.in[i+1:])]
	}
	r.cond.Broadcast()
	return len(p), nil
}

func (r *refusingModem) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.cond.Broadcast()
	return nil
}

// command answers one command line; r.mu is held.
func (r *refusingModem) command(line string) {
	name, args, _ := strings.Cut(line, "=")
	idx, _, _ := strings.Cut(args, ",")
	switch name {
	case "AT+CMQTTSTART", "AT+CMQTTSTOP":
		r.out = append(r.out, "\r\nOK\r\n\r\n"+name[2:]+": 0\r\n"...)
	case "AT+CMQTTCONNECT", "AT+CMQTTDISC":
		r.out = append(r.out, "\r\nOK\r\n\r\n"+name[2:]+": "+idx+",0\r\n"...)
	case "AT+CMQTTPUB":
		r.pubs++
		r.out = append(r.out, "\r\nOK\r\n\r\n+CMQTTPUB: "+idx+","+strconv.Itoa(r.pubCode)+"\r\n"...)
	case "AT+CSQ", "AT+CMEE?": // the engine's markers
		r.out = append(r.out, "\r\n+"+strings.TrimSuffix(name[3:], "?")+": 0\r\n\r\nOK\r\n"...)
	case "AT+CMQTTTOPIC", "AT+CMQTTPAYLOAD":
		f := strings.Split(args, ",")
		r.want, _ = strconv.Atoi(f[len(f)-1])
		r.out = append(r.out, "\r\n>"...)
	default:
		r.out = append(r.out, "\r\nOK\r\n"...)
	}
}

// published is the number of PUB commands so far.
func (r *refusingModem) published() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pubs
}

// TestPublishRefusedFailsToken: a publish the modem refuses with a result
// code that is neither a lost link nor an unknown fate fails its token with
// that *atmodem.ResultError and is not sent again.
func TestPublishRefusedFailsToken(t *testing.T) {
	m := newRefusingModem(int(simcom.CodePacketFail))
	c := NewClient(NewClientOptions().AddBroker("tcp://broker.example.com:1883").SetClientID("refused").
		SetTransport(m).SetModel(atmodem.A7600).SetLivenessInterval(0))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	tok := c.Publish("sensors/1", 1, false, "x")
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("token not complete after %d PUB commands: a refused publish is being sent again", m.published())
	}
	var re *atmodem.ResultError
	if err := tok.Error(); !errors.As(err, &re) || re.Code != simcom.CodePacketFail {
		t.Fatalf("token error %v, want a *atmodem.ResultError with code %d", err, simcom.CodePacketFail)
	}
	if n := m.published(); n != 1 {
		t.Fatalf("%d PUB commands for one refused message, want 1", n)
	}
}
