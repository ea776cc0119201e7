package bridge

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// Status is what the bridge publishes, retained, on its status topic every
// status interval, as JSON, so a dashboard can show the uplink.
type Status struct {
	Time      time.Time `json:"time"`
	Connected bool      `json:"connected"` // the modem's connection to the remote broker is up
	// RSSI is AT+CSQ's <rssi> (0-31, 99 unknown) and SignalDBm its value in
	// dBm (absent when unknown).
	RSSI      int  `json:"rssi"`
	SignalDBm *int `json:"signal_dbm,omitempty"`
	// Registration is the packet network registration (AT+CEREG?), e.g.
	// "registered, home network".
	Registration string `json:"registration"`
	// QueueMessages and QueueBytes are what waits in the out queue.
	QueueMessages int   `json:"queue_messages"`
	QueueBytes    int64 `json:"queue_bytes"`
	// Sent counts the messages the remote broker confirmed, Failed those
	// it refused or the queue dropped; Received counts the messages handed
	// to the local broker and Echoes the bridge's own messages that came
	// back and were dropped (since the bridge started).
	Sent     uint64 `json:"sent"`
	Failed   uint64 `json:"failed"`
	Received uint64 `json:"received"`
	Echoes   uint64 `json:"echoes"`
	// Error says what could not be asked of the modem, if anything.
	Error string `json:"error,omitempty"`
}

// statusReporter publishes the Status until stopped.
type statusReporter struct {
	b    *Bridge
	stop chan struct{}
	done chan struct{}
}

func startStatus(b *Bridge) *statusReporter {
	s := &statusReporter{b: b, stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// wait stops the reporter and waits for it.
func (s *statusReporter) wait() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *statusReporter) run() {
	defer close(s.done)
	t := time.NewTicker(s.b.opts.StatusInterval)
	defer t.Stop()
	for {
		st := s.b.Status()
		if p, err := json.Marshal(st); err == nil {
			if err := s.b.local.publishState(s.b.opts.StatusTopic, p); err != nil {
				s.b.log.Warn("publishing the status", "topic", s.b.opts.StatusTopic, "err", err)
			}
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// Status collects the bridge's current status, asking the modem for signal
// and registration (bounded to 10 s).
func (b *Bridge) Status() Status {
	st := Status{
		Time:          time.Now().UTC().Truncate(time.Second),
		Connected:     b.client.IsConnectionOpen(),
		QueueMessages: b.outQ.Len(),
		QueueBytes:    b.outQ.Bytes(),
		Sent:          b.sent.confirmed.Load(),
		Failed:        b.sent.failed.Load(),
		Received:      b.in.delivered.Load(),
		Echoes:        b.in.echoes.Load(),
		RSSI:          99,
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if sig, err := b.opts.Modem.SignalQuality(ctx); err != nil {
		st.Error = "AT+CSQ: " + err.Error()
	} else {
		st.RSSI = sig.RSSI
		if dbm, ok := sig.DBm(); ok {
			st.SignalDBm = &dbm
		}
	}
	if reg, err := b.opts.Modem.Registration(ctx, atmodem.RegEPS); err != nil {
		if st.Error == "" {
			st.Error = "AT+CEREG?: " + err.Error()
		}
	} else {
		st.Registration = reg.String()
	}
	return st
}
