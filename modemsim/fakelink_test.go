package modemsim

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// fakeDialer is an in-test back-end: it records what the front-end asks
// for and answers with configured result codes, with no network.
type fakeDialer struct {
	mu       sync.Mutex
	code     simcom.ResultCode // result of the next dials
	pubCode  simcom.ResultCode
	discCode simcom.ResultCode
	block    chan struct{} // when not nil, Publish waits for it to close
	cfgs     []linkConfig
	links    []*fakeLink
}

// fakeLink is one connection of a fakeDialer.
type fakeLink struct {
	d  *fakeDialer
	ev linkEvents

	mu      sync.Mutex
	pubs    []fakePub
	subs    [][]string
	unsubs  [][]string
	dropped bool
	discon  bool
}

type fakePub struct {
	topic       string
	payload     string
	qos         byte
	retain, dup bool
	timeout     time.Duration
}

func (d *fakeDialer) dial(_ context.Context, cfg linkConfig, ev linkEvents) (brokerLink, simcom.ResultCode) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfgs = append(d.cfgs, cfg)
	if d.code != simcom.CodeOK {
		return nil, d.code
	}
	l := &fakeLink{d: d, ev: ev}
	d.links = append(d.links, l)
	return l, simcom.CodeOK
}

// last returns the newest link or fails.
func (d *fakeDialer) last(t testing.TB) *fakeLink {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.links) == 0 {
		t.Fatal("no link dialed")
	}
	return d.links[len(d.links)-1]
}

func (d *fakeDialer) lastConfig(t testing.TB) linkConfig {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cfgs) == 0 {
		t.Fatal("nothing dialed")
	}
	return d.cfgs[len(d.cfgs)-1]
}

func (l *fakeLink) Publish(topic string, payload []byte, qos byte, retain, dup bool, timeout time.Duration) simcom.ResultCode {
	l.d.mu.Lock()
	block, code := l.d.block, l.d.pubCode
	l.d.mu.Unlock()
	if block != nil {
		<-block
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pubs = append(l.pubs, fakePub{topic, string(payload), qos, retain, dup, timeout})
	return code
}

func (l *fakeLink) Subscribe(topics []string, qos []byte, timeout time.Duration) simcom.ResultCode {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, topics)
	return simcom.CodeOK
}

func (l *fakeLink) Unsubscribe(topics []string, timeout time.Duration) simcom.ResultCode {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unsubs = append(l.unsubs, topics)
	return simcom.CodeOK
}

func (l *fakeLink) Disconnect(timeout time.Duration) simcom.ResultCode {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.discon = true
	l.d.mu.Lock()
	defer l.d.mu.Unlock()
	return l.d.discCode
}

func (l *fakeLink) Drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropped = true
}

func (l *fakeLink) Connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.dropped && !l.discon
}

func (l *fakeLink) wasDropped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

func (l *fakeLink) wasDisconnected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.discon
}

func (l *fakeLink) published() []fakePub {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]fakePub(nil), l.pubs...)
}

// startFake starts an emulator with a fake back-end and echo off.
func startFake(t testing.TB, cfg Config) (*Sim, *atHost, *fakeDialer) {
	t.Helper()
	d := &fakeDialer{}
	cfg.dial = d.dial
	if cfg.Echo == EchoFirmware {
		cfg.Echo = EchoOff
	}
	s, h := startSim(t, cfg)
	return s, h, d
}

// start starts the MQTT service (either result order).
func (h *atHost) start() {
	h.t.Helper()
	h.send("AT+CMQTTSTART\r")
	h.expectAnyOrder("\r\nOK\r\n", "\r\n+CMQTTSTART: 0\r\n")
}

// connect acquires and connects index idx through the fake back-end.
func (h *atHost) connect(idx string) {
	h.t.Helper()
	h.cmd(`AT+CMQTTACCQ=`+idx+`,"id`+idx+`"`, "\r\nOK\r\n")
	h.cmd(`AT+CMQTTCONNECT=`+idx+`,"tcp://broker.example:1883",60,1`, "\r\nOK\r\n\r\n+CMQTTCONNECT: "+idx+",0\r\n")
}
