// AT+CMQTTSUB and AT+CMQTTUNSUB, each in two forms: the topics stored
// with AT+CMQTTSUBTOPIC / AT+CMQTTUNSUBTOPIC, or one topic after a prompt.

package modemsim

import (
	"time"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
)

// topicOp is the broker call of a SUB or UNSUB, run in the background.
type topicOp func(link brokerLink, timeout time.Duration) simcom.ResultCode

// cmdSub is AT+CMQTTSUB in both forms: the topics of AT+CMQTTSUBTOPIC
// (AT+CMQTTSUB=i[,dup]) or one topic after a prompt (AT+CMQTTSUB=i,len,qos[,dup]).
func cmdSub(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	idx, ok := s.writeIndex(c, r, 1, 4)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if len(c.Params) <= 2 {
		return s.storedTopicsOp(c, r, "+CMQTTSUB", idx, func(cl *clientState) topicOp {
			if len(cl.subTopics) == 0 {
				return nil
			}
			var topics []string
			var qoss []byte
			for _, e := range cl.subTopics {
				topics = append(topics, e.topic)
				qoss = append(qoss, e.qos)
			}
			cl.subTopics = nil
			return func(link brokerLink, timeout time.Duration) simcom.ResultCode {
				return link.Subscribe(topics, qoss, timeout)
			}
		})
	}
	n, ok1 := c.Params[1].int()
	qos, ok2 := intIn(c.Params[2], qosRange)
	_, ok3 := optIntIn(c, 3, bitRange, 0)
	if !ok1 || !ok2 || !ok3 {
		r.error()
		return nil
	}
	return s.oneTopicOp("+CMQTTSUB", idx, n, r, func(topic string) topicOp {
		return func(link brokerLink, timeout time.Duration) simcom.ResultCode {
			return link.Subscribe([]string{topic}, []byte{byte(qos)}, timeout)
		}
	})
}

// cmdUnsub is AT+CMQTTUNSUB in both forms: the topics of
// AT+CMQTTUNSUBTOPIC (AT+CMQTTUNSUB=i[,dup]) or one topic after a prompt
// (AT+CMQTTUNSUB=i,len,dup).
func cmdUnsub(s *Sim, c atCommand, r *reply) error {
	s.mu.Lock()
	idx, ok := s.writeIndex(c, r, 1, 3)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if len(c.Params) <= 2 {
		return s.storedTopicsOp(c, r, "+CMQTTUNSUB", idx, func(cl *clientState) topicOp {
			if len(cl.unsubTopics) == 0 {
				return nil
			}
			topics := cl.unsubTopics
			cl.unsubTopics = nil
			return func(link brokerLink, timeout time.Duration) simcom.ResultCode {
				return link.Unsubscribe(topics, timeout)
			}
		})
	}
	n, ok1 := c.Params[1].int()
	_, ok2 := intIn(c.Params[2], bitRange)
	if !ok1 || !ok2 {
		r.error()
		return nil
	}
	return s.oneTopicOp("+CMQTTUNSUB", idx, n, r, func(topic string) topicOp {
		return func(link brokerLink, timeout time.Duration) simcom.ResultCode {
			return link.Unsubscribe([]string{topic}, timeout)
		}
	})
}

// storedTopicsOp runs the form AT+CMD=<index>[,<dup>] of SUB and UNSUB:
// take empties the stored topics of the index into the broker call, or
// returns nil when there are none (code 18, topic empty).
func (s *Sim) storedTopicsOp(c atCommand, r *reply, name string, idx int, take func(cl *clientState) topicOp) error {
	if _, ok := optIntIn(c, 1, bitRange, 0); !ok {
		r.error()
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.startOp(name, idx, r)
	if !ok {
		return nil
	}
	op := take(cl)
	if op == nil {
		r.codeError(name, idx, simcom.CodeTopicEmpty)
		return nil
	}
	timeout := s.opTimeout(cl)
	s.runOp(name, idx, cl, r, func(link brokerLink) simcom.ResultCode { return op(link, timeout) })
	return nil
}

// oneTopicOp runs the form of SUB and UNSUB that takes one topic of n
// bytes after a prompt; op makes the broker call for it.
func (s *Sim) oneTopicOp(name string, idx, n int, r *reply, op func(topic string) topicOp) error {
	if !s.connectedIndex(name, idx, r) {
		return nil
	}
	data, ok, err := s.inputData(name, idx, n, s.d.limits.Topic, r)
	if !ok {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.startOp(name, idx, r)
	if !ok {
		return nil
	}
	timeout := s.opTimeout(cl)
	run := op(string(data))
	s.runOp(name, idx, cl, r, func(link brokerLink) simcom.ResultCode { return run(link, timeout) })
	return nil
}

// connectedIndex checks, before a prompt, that a one-topic SUB or UNSUB
// can run.
func (s *Sim) connectedIndex(name string, idx int, r *reply) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := s.st.client(idx)
	if !cl.acquired {
		// inputData answers 20.
		return true
	}
	_, ok := s.startOp(name, idx, r)
	return ok
}
