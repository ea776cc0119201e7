package atmodem

import (
	"context"
	"errors"
	"fmt"
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
func (s *Session) CheckPublish(p Publish) error { return checkPublish(s.m.Model(), p) }

// CheckPublishAnyModel validates p before the modem's model is known,
// against the limits both families share.
func CheckPublishAnyModel(p Publish) error { return checkPublish(AutoDetect, p) }

func checkPublish(model Model, p Publish) error {
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
// reports +CMQTTPUB: i,0, a *ResultError otherwise. It waits while the
// publish window is full (SetMaxInflight; by default until the result of
// the publish before). The AT port serves other commands between the PUB's
// OK and its result. When ctx ends while the result is pending, Publish
// returns ErrTimeout and the result, when it comes, still counts for this
// message (see PublishAsync).
func (s *Session) Publish(ctx context.Context, p Publish) error {
	ch, err := s.PublishAsync(ctx, p)
	if err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		select {
		case err := <-ch:
			return err
		default:
		}
		return s.wrap("publish", fmt.Errorf("%w: waiting for the result: %w", ErrTimeout, ctx.Err()))
	}
}

// noteLinkDown handles a request the modem answered with a result code
// whose fate is link down (9, 11, 26 ...): the modem has no working
// connection on the index, whatever AT+CMQTTDISC? may still say (firmware
// that has not noticed the dead socket answers "connected" and 11 to every
// request until AT+CMQTTDISC). The connection is forgotten and the next
// Connect sends AT+CMQTTDISC before CONNECT.
func (s *Session) noteLinkDown(err error) {
	code, ok := resultCodeOf(err)
	if !ok || ResultFate(s.m.Model(), code) != FateLinkDown {
		return
	}
	s.forgetConnection()
}

// forgetConnection forgets the connection of the index and makes the next
// Connect send AT+CMQTTDISC before CONNECT.
func (s *Session) forgetConnection() {
	s.m.sessions.setConnected(s.index, 0, 0, nil)
	s.m.sessions.withState(func(st *modemState) { st.hold(s.index, holdSure) })
}

// CheckSubscribe validates a topic filter and QoS without writing anything.
func (s *Session) CheckSubscribe(sub Subscription) error { return checkSubscribe(s.m.Model(), sub) }

// CheckSubscribeAnyModel validates a topic filter and QoS before the
// modem's model is known, against the limits both families share.
func CheckSubscribeAnyModel(sub Subscription) error { return checkSubscribe(AutoDetect, sub) }

func checkSubscribe(model Model, sub Subscription) error {
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
	if err := s.usable("subscribe"); err != nil {
		return err
	}
	if err := s.idle(ctx); err != nil {
		return s.wrap("subscribe", err)
	}
	err := s.m.SubscribeTopic(ctx, s.index, sub.Topic, sub.QoS, false)
	s.noteLinkDown(err)
	return s.wrap("subscribe", err)
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
	if err := s.idle(ctx); err != nil {
		return s.wrap("subscribe", err)
	}
	return s.batchOrEach("subscribe", len(subs), func(st *modemState) *bool { return &st.noSubTopic },
		func(i int) error { return s.m.SetSubscribeTopic(ctx, s.index, subs[i].Topic, subs[i].QoS) },
		func() error { return s.m.SubscribeTopics(ctx, s.index, false) },
		func(i int) error { return s.m.SubscribeTopic(ctx, s.index, subs[i].Topic, subs[i].QoS, false) })
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
	if err := s.idle(ctx); err != nil {
		return s.wrap("unsubscribe", err)
	}
	return s.batchOrEach("unsubscribe", len(topics), func(st *modemState) *bool { return &st.noUnsubTopic },
		func(i int) error { return s.m.SetUnsubscribeTopic(ctx, s.index, topics[i]) },
		func() error { return s.m.UnsubscribeTopics(ctx, s.index, false) },
		func(i int) error { return s.m.UnsubscribeTopic(ctx, s.index, topics[i], false) })
}

// batchOrEach runs a SUB or UNSUB (what) of n filters. Several filters go
// in one request, stage(i) (SUBTOPIC / UNSUBTOPIC) for each then commit,
// unless the firmware is known to refuse staging (refused): when the first
// stage answers as unsupported, that is remembered for the modem and, as
// for one filter, single(i) runs for each filter.
func (s *Session) batchOrEach(what string, n int, refused func(*modemState) *bool, stage func(i int) error, commit func() error, single func(i int) error) error {
	err := s.batchOrEachOnce(what, n, refused, stage, commit, single)
	s.noteLinkDown(err)
	return err
}

func (s *Session) batchOrEachOnce(what string, n int, refused func(*modemState) *bool, stage func(i int) error, commit func() error, single func(i int) error) error {
	if err := s.usable(what); err != nil {
		return err
	}
	if n > 1 && !s.flag(refused) {
		err := stage(0)
		switch {
		case err == nil:
			for i := 1; i < n; i++ {
				if err := stage(i); err != nil {
					return s.wrap(what+" topic", err)
				}
			}
			return s.wrap(what, commit())
		case !unsupported(err):
			return s.wrap(what+" topic", err)
		}
		s.setFlag(refused)
	}
	for i := 0; i < n; i++ {
		if err := single(i); err != nil {
			return s.wrap(what, err)
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
