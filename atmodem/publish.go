package atmodem

import (
	"context"
	"errors"
	"time"
)

// Publish is one message to send with TOPIC, PAYLOAD and PUB.
type Publish struct {
	Topic   string
	Payload []byte // 1-10240 bytes; an empty payload sends no AT+CMQTTPAYLOAD
	QoS     byte
	Retain  bool
	Dup     bool
	Timeout time.Duration // pub_timeout, 60-180 s; 0 means 60 s
}

// Subscription is one topic filter with its QoS.
type Subscription struct {
	Topic string
	QoS   byte
}

// defaultPubTimeout is the pub_timeout of Publish.Timeout == 0.
const defaultPubTimeout = 60 * time.Second

// CheckPublish validates p without writing anything.
func (s *Session) CheckPublish(p Publish) error {
	model := s.m.Model()
	if err := checkPubTopic(model, "topic", p.Topic); err != nil {
		return err
	}
	if n := len(p.Payload); n != 0 {
		if err := checkLength(model, "payload", n, model.Limits().Payload); err != nil {
			return err
		}
	}
	if err := checkQoS(model, "qos", p.QoS); err != nil {
		return err
	}
	_, err := checkPubTimeout(model, pubTimeoutOf(p))
	return err
}

func pubTimeoutOf(p Publish) time.Duration {
	if p.Timeout == 0 {
		return defaultPubTimeout
	}
	return p.Timeout
}

// Publish sends one message: TOPIC, PAYLOAD (left out for an empty payload,
// as in the manuals' example 3.5), PUB. It returns nil when the modem
// reports +CMQTTPUB: i,0, a *ResultError otherwise.
func (s *Session) Publish(ctx context.Context, p Publish) error {
	if err := s.CheckPublish(p); err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.m.SetTopic(ctx, s.index, p.Topic); err != nil {
		return s.wrap("publish topic", err)
	}
	if len(p.Payload) > 0 {
		if err := s.m.SetPayload(ctx, s.index, p.Payload); err != nil {
			return s.wrap("publish payload", err)
		}
	}
	if err := s.m.PublishMessage(ctx, s.index, p.QoS, pubTimeoutOf(p), p.Retain, p.Dup); err != nil {
		return s.wrap("publish", err)
	}
	return nil
}

// CheckSubscribe validates a topic filter and QoS without writing anything.
func (s *Session) CheckSubscribe(sub Subscription) error {
	model := s.m.Model()
	if err := checkFilter(model, "topic", sub.Topic); err != nil {
		return err
	}
	return checkQoS(model, "qos", sub.QoS)
}

// Subscribe subscribes one topic filter with the single-topic form
// AT+CMQTTSUB=i,len,qos.
func (s *Session) Subscribe(ctx context.Context, sub Subscription) error {
	if err := s.CheckSubscribe(sub); err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	return s.wrap("subscribe", s.m.SubscribeTopic(ctx, s.index, sub.Topic, sub.QoS, false))
}

// SubscribeMultiple subscribes several filters in one SUBSCRIBE with
// SUBTOPIC + SUB, falling back to one single-topic SUB per filter when the
// firmware refuses SUBTOPIC (remembered for the modem). One filter uses the
// single-topic form directly.
func (s *Session) SubscribeMultiple(ctx context.Context, subs []Subscription) error {
	if len(subs) == 0 {
		return paramErr(s.m.Model(), "topic", "no topic filter to subscribe")
	}
	for _, sub := range subs {
		if err := s.CheckSubscribe(sub); err != nil {
			return err
		}
	}
	s.op.Lock()
	defer s.op.Unlock()
	if len(subs) > 1 && !s.flag(func(st *modemState) *bool { return &st.noSubTopic }) {
		err := s.m.SetSubscribeTopic(ctx, s.index, subs[0].Topic, subs[0].QoS)
		switch {
		case err == nil:
			for _, sub := range subs[1:] {
				if err := s.m.SetSubscribeTopic(ctx, s.index, sub.Topic, sub.QoS); err != nil {
					return s.wrap("subscribe topic", err)
				}
			}
			return s.wrap("subscribe", s.m.SubscribeTopics(ctx, s.index, false))
		case !unsupported(err):
			return s.wrap("subscribe topic", err)
		}
		s.setFlag(func(st *modemState) *bool { return &st.noSubTopic })
	}
	for _, sub := range subs {
		if err := s.m.SubscribeTopic(ctx, s.index, sub.Topic, sub.QoS, false); err != nil {
			return s.wrap("subscribe", err)
		}
	}
	return nil
}

// Unsubscribe unsubscribes one or more filters: one with the single-topic
// form AT+CMQTTUNSUB=i,len,0, several with UNSUBTOPIC each and
// AT+CMQTTUNSUB=i,0 (falling back to one single-topic UNSUB per filter when
// the firmware refuses UNSUBTOPIC).
func (s *Session) Unsubscribe(ctx context.Context, topics ...string) error {
	model := s.m.Model()
	if len(topics) == 0 {
		return paramErr(model, "topic", "no topic filter to unsubscribe")
	}
	for _, t := range topics {
		if err := checkFilter(model, "topic", t); err != nil {
			return err
		}
	}
	s.op.Lock()
	defer s.op.Unlock()
	if len(topics) > 1 && !s.flag(func(st *modemState) *bool { return &st.noUnsubTopic }) {
		err := s.m.SetUnsubscribeTopic(ctx, s.index, topics[0])
		switch {
		case err == nil:
			for _, t := range topics[1:] {
				if err := s.m.SetUnsubscribeTopic(ctx, s.index, t); err != nil {
					return s.wrap("unsubscribe topic", err)
				}
			}
			return s.wrap("unsubscribe", s.m.UnsubscribeTopics(ctx, s.index, false))
		case !unsupported(err):
			return s.wrap("unsubscribe topic", err)
		}
		s.setFlag(func(st *modemState) *bool { return &st.noUnsubTopic })
	}
	for _, t := range topics {
		if err := s.m.UnsubscribeTopic(ctx, s.index, t, false); err != nil {
			return s.wrap("unsubscribe", err)
		}
	}
	return nil
}

// unsupported reports a bare ERROR (no result code): how some A7670 firmware
// refuses AT+CMQTTSUBTOPIC.
func unsupported(err error) bool {
	_, coded := resultCodeOf(err)
	return !coded && errors.Is(err, ErrCommandFailed)
}

func (s *Session) flag(f func(*modemState) *bool) (v bool) {
	s.m.sessions.withState(func(st *modemState) { v = *f(st) })
	return v
}

func (s *Session) setFlag(f func(*modemState) *bool) {
	s.m.sessions.withState(func(st *modemState) { *f(st) = true })
}
