// The data-input commands: AT+CMQTT<...>=<index>,<length>[,<qos>], then
// a ">" prompt for <length> bytes (topics, payload, will).

package modemsim

import (
	"unicode/utf8"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// writeIndex checks the common start of the data-input and operation
// commands: service started, write form, parameter count, index in range.
// It answers ERROR and returns ok=false on failure. The caller holds s.mu.
func (s *Sim) writeIndex(c atCommand, r *reply, min, max int) (int, bool) {
	if !s.st.started || c.Form != formWrite || !countIn(c, min, max) {
		r.error()
		return 0, false
	}
	idx, ok := intIn(c.Params[0], indexRange)
	if !ok {
		r.error()
		return 0, false
	}
	return idx, true
}

// inputData runs the prompt of a data-input command: the index must be
// acquired, n in rng; the data are checked for UTF-8 when the index asks
// for it. ok is false when the command was answered with an error.
func (s *Sim) inputData(name string, idx, n int, rng simcom.Range, r *reply) ([]byte, bool, error) {
	s.mu.Lock()
	cl := s.st.client(idx)
	acquired := cl.acquired
	s.mu.Unlock()
	if !rng.Contains(n) {
		r.error()
		return nil, false, nil
	}
	if !acquired {
		r.codeError(name, idx, simcom.CodeClientNotAcquired)
		return nil, false, nil
	}
	data, err := r.prompt(n)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	check := cl.checkUTF8
	still := cl.acquired
	s.mu.Unlock()
	if !still {
		r.codeError(name, idx, simcom.CodeClientNotAcquired)
		return nil, false, nil
	}
	if check && !utf8.Valid(data) {
		r.codeError(name, idx, simcom.CodeBadUTF8)
		return nil, false, nil
	}
	return data, true, nil
}

// storeInput is what a data-input command does with its data, under s.mu;
// qos is 0 for the commands without a <qos> parameter.
type storeInput func(cl *clientState, data []byte, qos byte)

// dataInput runs a whole data-input command AT+CMD=<index>,<length> (or
// AT+CMD=<index>,<length>,<qos> when withQoS): the parameters, the prompt
// for <length> bytes in rng, store, then OK.
func (s *Sim) dataInput(c atCommand, r *reply, name string, withQoS bool, rng simcom.Range, store storeInput) error {
	count := 2
	if withQoS {
		count = 3
	}
	s.mu.Lock()
	idx, ok := s.writeIndex(c, r, count, count)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	n, ok := c.Params[1].int()
	qos := 0
	if withQoS {
		q, okQoS := intIn(c.Params[2], qosRange)
		qos, ok = q, ok && okQoS
	}
	if !ok {
		r.error()
		return nil
	}
	data, ok, err := s.inputData(name, idx, n, rng, r)
	if !ok {
		return err
	}
	s.mu.Lock()
	store(s.st.client(idx), data, byte(qos))
	s.mu.Unlock()
	r.ok()
	return nil
}

// cmdWillTopic is AT+CMQTTWILLTOPIC.
func cmdWillTopic(s *Sim, c atCommand, r *reply) error {
	return s.dataInput(c, r, "+CMQTTWILLTOPIC", false, s.d.limits.Topic, func(cl *clientState, data []byte, _ byte) {
		cl.willTopic, cl.hasWillTopic = data, true
	})
}

// cmdWillMsg is AT+CMQTTWILLMSG.
func cmdWillMsg(s *Sim, c atCommand, r *reply) error {
	return s.dataInput(c, r, "+CMQTTWILLMSG", true, s.d.limits.WillMessage, func(cl *clientState, data []byte, qos byte) {
		cl.willMsg, cl.willQoS, cl.hasWillMsg = data, qos, true
	})
}

// cmdTopic is AT+CMQTTTOPIC.
func cmdTopic(s *Sim, c atCommand, r *reply) error {
	return s.dataInput(c, r, "+CMQTTTOPIC", false, s.d.limits.Topic, func(cl *clientState, data []byte, _ byte) {
		cl.pubTopic, cl.hasTopic = data, true
	})
}

// cmdPayload is AT+CMQTTPAYLOAD.
func cmdPayload(s *Sim, c atCommand, r *reply) error {
	return s.dataInput(c, r, "+CMQTTPAYLOAD", false, s.d.limits.Payload, func(cl *clientState, data []byte, _ byte) {
		cl.pubPayload = data
	})
}

// cmdSubTopic is AT+CMQTTSUBTOPIC.
func cmdSubTopic(s *Sim, c atCommand, r *reply) error {
	if s.d.refuseSubTopic && c.Form == formWrite {
		r.error()
		return nil
	}
	return s.dataInput(c, r, "+CMQTTSUBTOPIC", true, s.d.limits.Topic, func(cl *clientState, data []byte, qos byte) {
		cl.subTopics = append(cl.subTopics, subEntry{topic: string(data), qos: qos})
	})
}

// cmdUnsubTopic is AT+CMQTTUNSUBTOPIC.
func cmdUnsubTopic(s *Sim, c atCommand, r *reply) error {
	return s.dataInput(c, r, "+CMQTTUNSUBTOPIC", false, s.d.limits.Topic, func(cl *clientState, data []byte, _ byte) {
		cl.unsubTopics = append(cl.unsubTopics, string(data))
	})
}
