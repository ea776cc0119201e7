package modemsim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// mqttHandlers are the MQTT commands of both manuals.
var mqttHandlers = map[string]handler{
	"+CMQTTSTART":      cmdStart,
	"+CMQTTSTOP":       cmdStop,
	"+CMQTTACCQ":       cmdAccq,
	"+CMQTTREL":        cmdRel,
	"+CMQTTSSLCFG":     cmdMQTTSSLCfg,
	"+CMQTTWILLTOPIC":  cmdWillTopic,
	"+CMQTTWILLMSG":    cmdWillMsg,
	"+CMQTTCONNECT":    cmdConnect,
	"+CMQTTDISC":       cmdDisc,
	"+CMQTTTOPIC":      cmdTopic,
	"+CMQTTPAYLOAD":    cmdPayload,
	"+CMQTTPUB":        cmdPub,
	"+CMQTTSUBTOPIC":   cmdSubTopic,
	"+CMQTTSUB":        cmdSub,
	"+CMQTTUNSUBTOPIC": cmdUnsubTopic,
	"+CMQTTUNSUB":      cmdUnsub,
	"+CMQTTCFG":        cmdCfg,
}

var (
	indexRange = simcom.Range{Min: 0, Max: 1}
	bitRange   = simcom.Range{Min: 0, Max: 1}
	qosRange   = simcom.Range{Min: 0, Max: 2}
	// protocolRange is the MQTT protocol level of AT+CMQTTCFG="version" and
	// of AT+CMQTTACCQ's 4th field: 3 (MQTT 3.1) or 4 (MQTT 3.1.1).
	protocolRange = simcom.Range{Min: 3, Max: 4}
	serverPrefix  = "tcp://"
)

// intIn returns the parameter as a number inside r.
func intIn(p atParam, r simcom.Range) (int, bool) {
	v, ok := p.int()
	return v, ok && r.Contains(v)
}

// optIntIn is intIn for an optional parameter: def when absent or empty.
func optIntIn(c atCommand, i int, r simcom.Range, def int) (int, bool) {
	if i >= len(c.Params) || c.Params[i].empty() {
		return def, true
	}
	return intIn(c.Params[i], r)
}

// countIn reports whether the command has between min and max parameters.
func countIn(c atCommand, min, max int) bool { return len(c.Params) >= min && len(c.Params) <= max }

// gatedRead is the common start of the MQTT commands with a read and a
// write form. It applies the rule of the manuals: before AT+CMQTTSTART the
// read and write forms answer ERROR at once (other forms always do). It
// answers the read form with one line per client index (from line; none
// when line is nil) and OK, and reports whether the write form is left to
// the caller. The caller holds s.mu.
func (s *Sim) gatedRead(c atCommand, r *reply, line func(i int, cl *clientState) string) bool {
	if c.Form == formRead && s.listsStaleClients(c) {
		for i := range s.st.clients {
			r.line(line(i, &s.st.clients[i]))
		}
		r.ok()
		return false
	}
	if !s.st.started || (c.Form != formRead && c.Form != formWrite) {
		r.error()
		return false
	}
	if c.Form == formWrite {
		return true
	}
	if line != nil {
		for i := range s.st.clients {
			r.line(line(i, &s.st.clients[i]))
		}
	}
	r.ok()
	return false
}

// listsStaleClients reports whether the read form of c answers from the
// client table of a service that +CMQTTNONET stopped
// (Config.NoNetListsClients: AT+CMQTTACCQ? and AT+CMQTTDISC?). The caller
// holds s.mu.
func (s *Sim) listsStaleClients(c atCommand) bool {
	return !s.st.started && s.st.staleClients && s.cfg.NoNetListsClients &&
		(c.Name == "+CMQTTACCQ" || c.Name == "+CMQTTDISC")
}

// cmdStart is AT+CMQTTSTART.
func cmdStart(s *Sim, c atCommand, r *reply) error {
	if c.Form != formExec {
		r.error()
		return nil
	}
	s.mu.Lock()
	started, up := s.st.started, s.st.network
	if !started && up {
		s.st.started = true
		if s.st.staleClients { // left by +CMQTTNONET: a fresh service
			s.st.staleClients = false
			for i := range s.st.clients {
				s.st.clients[i] = newClientState()
			}
		}
	}
	s.mu.Unlock()
	if started {
		if s.d.startAgainCode {
			r.line("+CMQTTSTART: " + strconv.Itoa(int(simcom.CodeNetworkOpened)))
		}
		r.error()
		return nil
	}
	code := simcom.CodeOK
	if !up {
		code = simcom.CodeNetworkOpenFail
	}
	s.resultAndOK(r, "+CMQTTSTART: "+strconv.Itoa(int(code)))
	return nil
}

// resultAndOK answers OK and a result line in the model's order.
func (s *Sim) resultAndOK(r *reply, result string) {
	if s.d.resultFirst {
		r.line(result)
		r.ok()
		return
	}
	r.ok()
	r.line(result)
	r.flush()
}

// cmdStop is AT+CMQTTSTOP. With no client acquired it stops the service
// (the result in the model's order); with nothing to stop it answers a bare
// ERROR, as both manuals say. With a client still acquired it fails with the
// model's code then ERROR (dialect.stopWithClientsCode).
func cmdStop(s *Sim, c atCommand, r *reply) error {
	if c.Form != formExec {
		r.error()
		return nil
	}
	s.mu.Lock()
	if !s.st.started {
		s.mu.Unlock()
		r.error()
		return nil
	}
	acquired, connected := false, false
	for i := range s.st.clients {
		cl := &s.st.clients[i]
		acquired = acquired || cl.acquired
		connected = connected || cl.connected() || cl.connecting
	}
	if acquired {
		if s.d.stopWithClientsStops && !connected {
			s.st.started = false
		}
		s.mu.Unlock()
		r.line("+CMQTTSTOP: " + strconv.Itoa(int(s.d.stopWithClientsCode)))
		r.error()
		return nil
	}
	s.st.started = false
	s.mu.Unlock()
	s.resultAndOK(r, "+CMQTTSTOP: 0")
	return nil
}

// cmdAccq is AT+CMQTTACCQ.
func cmdAccq(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gatedRead(c, r, func(i int, cl *clientState) string {
		return fmt.Sprintf(`+CMQTTACCQ: %d,"%s",%d`, i, cl.clientID, cl.serverType)
	}) {
		return nil
	}
	maxParams := 3
	if s.d.selectVersion {
		maxParams = 4 // the firmware's 4th field: the MQTT protocol level
	}
	if !countIn(c, 2, maxParams) {
		r.error()
		return nil
	}
	idx, ok1 := intIn(c.Params[0], indexRange)
	id := c.Params[1]
	st, ok2 := optIntIn(c, 2, bitRange, 0)
	version, ok3 := optIntIn(c, 3, protocolRange, 0)
	if !ok1 || !ok2 || !ok3 || !id.Quoted || !s.d.limits.ClientID.Contains(len(id.Text)) {
		r.error()
		return nil
	}
	cl := s.st.client(idx)
	if cl.acquired {
		// Real firmware: a bare ERROR on an index in use
		// (docs/architecture.md, How real firmware behaves).
		r.error()
		return nil
	}
	*cl = newClientState()
	cl.acquired, cl.clientID, cl.serverType = true, id.Text, st
	cl.protocol = byte(version)
	r.ok()
	return nil
}

// cmdRel is AT+CMQTTREL.
func cmdRel(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gatedRead(c, r, nil) {
		return nil
	}
	if !countIn(c, 1, 1) {
		r.error()
		return nil
	}
	idx, ok := intIn(c.Params[0], indexRange)
	if !ok {
		r.error()
		return nil
	}
	cl := s.st.client(idx)
	switch {
	case !cl.acquired:
		r.codeError("+CMQTTREL", idx, simcom.CodeClientNotAcquired)
	case cl.connected() || cl.connecting || cl.busy:
		r.codeError("+CMQTTREL", idx, simcom.CodeClientUsed)
	default:
		*cl = newClientState()
		r.ok()
	}
	return nil
}

// cmdMQTTSSLCfg is AT+CMQTTSSLCFG.
func cmdMQTTSSLCfg(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gatedRead(c, r, func(i int, cl *clientState) string {
		ctx := ""
		if cl.sslCtx >= 0 {
			ctx = strconv.Itoa(cl.sslCtx)
		}
		return fmt.Sprintf("+CMQTTSSLCFG: %d,%s", i, ctx)
	}) {
		return nil
	}
	if !countIn(c, 2, 2) {
		r.error()
		return nil
	}
	idx, ok1 := intIn(c.Params[0], indexRange)
	ctx, ok2 := intIn(c.Params[1], s.d.limits.SSLContext)
	if !ok1 || !ok2 {
		r.error()
		return nil
	}
	s.st.client(idx).sslCtx = ctx
	r.ok()
	return nil
}

// cmdCfg is AT+CMQTTCFG.
func cmdCfg(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gatedRead(c, r, func(i int, cl *clientState) string {
		if s.d.cfgOpTimeout {
			return fmt.Sprintf("+CMQTTCFG: %d,%d,%d", i, b2i(cl.checkUTF8), cl.opTimeout)
		}
		return fmt.Sprintf("+CMQTTCFG: %d,%d", i, b2i(cl.checkUTF8))
	}) {
		return nil
	}
	if !countIn(c, 3, 3) || !c.Params[0].Quoted {
		r.error()
		return nil
	}
	idx, ok := intIn(c.Params[1], indexRange)
	if !ok || !s.st.client(idx).acquired {
		r.error()
		return nil
	}
	cl := s.st.client(idx)
	switch key := c.Params[0].Text; {
	case strings.EqualFold(key, "checkUTF8"):
		v, ok := intIn(c.Params[2], bitRange)
		if !ok {
			r.error()
			return nil
		}
		cl.checkUTF8 = v == 1
	case strings.EqualFold(key, "optimeout") && s.d.cfgOpTimeout:
		v, ok := intIn(c.Params[2], s.d.limits.OpTimeout)
		if !ok {
			r.error()
			return nil
		}
		cl.opTimeout = v
	case strings.EqualFold(key, "version") && s.d.cfgVersion:
		v, ok := intIn(c.Params[2], protocolRange)
		if !ok {
			r.error()
			return nil
		}
		cl.protocol = byte(v)
	default:
		r.error()
		return nil
	}
	r.ok()
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// opTimeout is the time limit of a broker operation of the index.
func (s *Sim) opTimeout(cl *clientState) time.Duration {
	return time.Duration(cl.opTimeout) * time.Second
}

// startOp checks that the index can start a broker operation (PUB, SUB,
// UNSUB): acquired (20), connected (11), not connecting or, while a result
// of the index is pending, as Config.Pipeline says (14, a bare ERROR, or
// accepted). The caller holds s.mu.
func (s *Sim) startOp(name string, idx int, r *reply) (*clientState, bool) {
	cl := s.st.client(idx)
	switch {
	case !cl.acquired:
		r.codeError(name, idx, simcom.CodeClientNotAcquired)
	case cl.connecting || cl.busy && s.cfg.Pipeline == PipelineBusy14:
		r.codeError(name, idx, simcom.CodeClientBusy)
	case cl.busy && s.cfg.Pipeline == PipelineError:
		r.error()
	case !cl.connected():
		r.codeError(name, idx, simcom.CodeNoConnection)
	default:
		return cl, true
	}
	return nil, false
}

// finishOp reports the result of an operation started with startOp, unless
// the index was dropped meanwhile (reboot, fault).
func (s *Sim) finishOp(name string, idx int, gen uint64, code simcom.ResultCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := s.st.client(idx)
	if cl.gen != gen || s.closed() {
		return
	}
	cl.pending--
	cl.busy = cl.pending > 0
	s.urc(fmt.Sprintf("%s: %d,%d", name, idx, s.d.code(code)))
}

// runOp answers OK and runs op in the background; its result becomes the
// "+CMD: i,err" URC, after the results of the operations of the index
// started before it. The caller holds s.mu.
func (s *Sim) runOp(name string, idx int, cl *clientState, r *reply, op func(link brokerLink) simcom.ResultCode) {
	if d, ok := s.takeDying(name, idx); ok {
		s.runDying(name, idx, cl, r, d, op)
		return
	}
	cl.pending++
	cl.busy = true
	gen, link := cl.gen, cl.link
	before, done := cl.results, make(chan struct{})
	cl.results = done
	r.ok()
	s.goAsync(func(ctx context.Context) {
		defer close(done)
		code := op(link)
		if before != nil {
			select {
			case <-before:
			case <-ctx.Done():
				return
			}
		}
		s.finishOp(name, idx, gen, code)
	})
}

// cmdPub is AT+CMQTTPUB.
func cmdPub(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.started || c.Form != formWrite || !countIn(c, 3, 5) {
		r.error()
		return nil
	}
	idx, ok1 := intIn(c.Params[0], indexRange)
	qos, ok2 := intIn(c.Params[1], qosRange)
	timeout, ok3 := intIn(c.Params[2], s.d.limits.PubTimeout)
	retain, ok4 := optIntIn(c, 3, bitRange, 0)
	dup, ok5 := optIntIn(c, 4, bitRange, 0)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		r.error()
		return nil
	}
	cl, ok := s.startOp("+CMQTTPUB", idx, r)
	if !ok {
		return nil
	}
	if !cl.hasTopic {
		r.codeError("+CMQTTPUB", idx, simcom.CodeTopicEmpty)
		return nil
	}
	topic, payload := string(cl.pubTopic), cl.pubPayload
	cl.pubTopic, cl.pubPayload, cl.hasTopic = nil, nil, false
	d := time.Duration(timeout) * time.Second
	s.runOp("+CMQTTPUB", idx, cl, r, func(link brokerLink) simcom.ResultCode {
		return link.Publish(topic, payload, byte(qos), retain == 1, dup == 1, d)
	})
	return nil
}
