package compat

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// broker311 is the broker side of MQTT 3.1.1 (and 3.1), encoded and
// decoded with github.com/eclipse/paho.mqtt.golang/packets.
type broker311 struct {
	a *adapter
	// awaitRel holds the packet IDs of QoS 2 messages from the client that
	// were published and answered with PUBREC, until their PUBREL.
	awaitRel qos2IDs
}

// encode311 encodes a packet; writing into a bytes.Buffer cannot fail.
func encode311(p packets.ControlPacket) []byte {
	var b bytes.Buffer
	_ = p.Write(&b)
	return b.Bytes()
}

// connack311 encodes a CONNACK with return code rc.
func connack311(rc byte) []byte {
	p := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
	p.ReturnCode = rc
	return encode311(p)
}

func decode311(frame []byte) (p packets.ControlPacket, err error) {
	defer recoverMalformed(&err)
	p, err = packets.ReadPacket(bytes.NewReader(frame))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return p, nil
}

func (b *broker311) connect(frame []byte) error {
	a := b.a
	p, err := decode311(frame)
	if err != nil {
		return err
	}
	c, ok := p.(*packets.ConnectPacket)
	if !ok {
		return fmt.Errorf("compat: first packet is not CONNECT: %w", errMalformed)
	}
	if rc := c.Validate(); rc != packets.Accepted {
		if rc != packets.ErrProtocolViolation {
			a.send(connack311(rc))
		}
		return fmt.Errorf("compat: CONNECT refused: %s", packets.ConnackReturnCodes[rc])
	}
	opts := atmodem.ConnectOptions{
		ClientID:     c.ClientIdentifier,
		CleanSession: c.CleanSession,
	}
	assigned := opts.ClientID == ""
	if assigned {
		// MQTT 3.1.1 lets the server assign an ID to a clean session.
		opts.ClientID = assignClientID()
	}
	var pass []byte
	if c.PasswordFlag {
		pass = c.Password
	}
	user := ""
	if c.UsernameFlag {
		user = c.Username
	}
	if rc, _, err := a.cfg.authenticate(user, pass); err != nil {
		a.log.Warn("compat: client refused", "err", err)
		a.send(connack311(rc))
		return err
	}
	a.credentials(&opts, c.Username, c.UsernameFlag, c.Password, c.PasswordFlag)
	if c.WillFlag {
		if c.WillRetain {
			// MQTT 3.1.1 has no return code for it: "server unavailable",
			// and the log says why.
			a.log.Warn("compat: CONNECT refused: the modem's will has no retain flag", "client", opts.ClientID)
			a.send(connack311(packets.ErrRefusedServerUnavailable))
			return fmt.Errorf("compat: CONNECT refused: a retained will cannot be carried by the modem (AT+CMQTTWILLTOPIC has no retain flag): %w",
				atmodem.ErrInvalidParameter)
		}
		opts.Will = &atmodem.Will{Topic: c.WillTopic, Payload: c.WillMessage, QoS: c.WillQos}
	}
	if err := a.beginSession(opts.ClientID, assigned, !c.CleanSession); err != nil {
		a.send(connack311(packets.ErrRefusedServerUnavailable))
		return err
	}
	a.keepAlive = c.Keepalive
	a.will = opts.Will
	if err := a.modemConnect(opts, c.Keepalive); err != nil {
		if mayPass(err) {
			return fmt.Errorf("compat: CONNECT not answered, the broker cannot be reached now (the client tries again): %w", err)
		}
		rc, _ := connectRefusal(err)
		a.send(connack311(rc))
		return fmt.Errorf("compat: CONNECT refused (return code %d): %w", rc, err)
	}
	a.modemConnected()
	a.out = newInflight(65535)
	if !a.send(connack311(packets.Accepted)) {
		return fmt.Errorf("compat: CONNACK not delivered: %w", a.reason)
	}
	return nil
}

func (b *broker311) handle(frame []byte) error {
	a := b.a
	p, err := decode311(frame)
	if err != nil {
		return err
	}
	switch p := p.(type) {
	case *packets.PingreqPacket:
		a.ping(encode311(packets.NewControlPacket(packets.Pingresp)))
	case *packets.PubackPacket:
		b.acked(p.MessageID, awaitPuback, "PUBACK")
	case *packets.PubrecPacket:
		if b.acked(p.MessageID, awaitPubrec, "PUBREC") {
			rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
			rel.MessageID = p.MessageID
			a.send(encode311(rel))
		}
	case *packets.PubcompPacket:
		b.acked(p.MessageID, awaitPubcomp, "PUBCOMP")
	case *packets.PublishPacket:
		if p.Qos > 2 {
			return fmt.Errorf("compat: PUBLISH with QoS 3: %w", errMalformed)
		}
		if strings.ContainsAny(p.TopicName, "+#") {
			return fmt.Errorf("compat: PUBLISH to %q, a topic with wildcards: %w", p.TopicName, errMalformed)
		}
		if err := a.checkPublish(p.TopicName, p.Payload, p.Qos); err != nil {
			return b.refusePublish(p.TopicName, len(p.Payload), p.Qos, err)
		}
		a.enqueue(len(frame), func(ctx context.Context) { b.publish(ctx, p) })
	case *packets.PubrelPacket:
		a.enqueue(len(frame), func(context.Context) {
			b.awaitRel.remove(p.MessageID)
			comp := packets.NewControlPacket(packets.Pubcomp).(*packets.PubcompPacket)
			comp.MessageID = p.MessageID
			a.send(encode311(comp))
		})
	case *packets.SubscribePacket:
		a.enqueueChange(len(frame), func(ctx context.Context) { b.subscribe(ctx, p) })
	case *packets.UnsubscribePacket:
		a.enqueueChange(len(frame), func(ctx context.Context) { b.unsubscribe(ctx, p) })
	case *packets.DisconnectPacket:
		a.requestDisconnect(len(frame), false)
	default:
		return fmt.Errorf("compat: unexpected %s from the client: %w", p.String(), errMalformed)
	}
	return nil
}

// acked consumes an acknowledgement of a delivered message.
func (b *broker311) acked(id uint16, want outbound, name string) bool {
	if b.a.out.acked(id, want) {
		return true
	}
	b.a.log.Debug("compat: acknowledgement for no message in flight", "packet", name, "id", id)
	return false
}

// publish sends the client's message through the modem; published
// acknowledges it once the modem confirmed.
func (b *broker311) publish(ctx context.Context, p *packets.PublishPacket) {
	a := b.a
	if p.Qos == 2 && b.awaitRel.has(p.MessageID) {
		// A resend of a message already published: PUBREC again, after
		// the answers before it.
		a.queueAnswer(pendingPub{done: func(error) { b.pubrec(p.MessageID) }})
		return
	}
	a.publishAsync(ctx, atmodem.Publish{
		Topic: p.TopicName, Payload: p.Payload, QoS: p.Qos, Retain: p.Retain, Dup: p.Dup,
	}, func(err error) { b.published(p, err) })
}

// published answers the client's message with the outcome of its publish.
// MQTT 3.1.1 cannot say "refused": a QoS 1 or 2 message the modem refuses
// ends the connection unanswered (the other choice MQTT-3.3.5-2 gives a
// server, so that the client does not take it as delivered), and so does a
// transient failure, so that the client sends the message again after it
// reconnected. A refused QoS 0 message is logged.
func (b *broker311) published(p *packets.PublishPacket, err error) {
	a := b.a
	if err != nil && p.Qos > 0 {
		if atmodem.FateOf(err) == atmodem.FateRefused {
			a.stop(b.refusePublish(p.TopicName, len(p.Payload), p.Qos, err))
			return
		}
		a.failTransient("publish", err)
		return
	}
	switch p.Qos {
	case 1:
		ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
		ack.MessageID = p.MessageID
		a.send(encode311(ack))
	case 2:
		b.awaitRel.add(p.MessageID)
		b.pubrec(p.MessageID)
	}
}

// refusePublish handles a message the modem cannot take (topic or payload
// out of its range, or refused by it): QoS 0 is dropped and logged; QoS 1
// and 2 end the connection without acknowledgement (MQTT-3.3.5-2), and
// the returned error says why.
func (b *broker311) refusePublish(topic string, size int, qos byte, why error) error {
	if qos == 0 {
		b.a.log.Warn("compat: QoS 0 message dropped: the modem cannot carry it", "topic", logTopic(topic), "bytes", size, "err", why)
		return nil
	}
	b.a.log.Warn("compat: closing the connection without acknowledging a message the modem cannot carry (MQTT-3.3.5-2); the client keeps it unacknowledged",
		"topic", logTopic(topic), "qos", qos, "bytes", size, "err", why)
	return fmt.Errorf("compat: QoS %d message to %q (%d bytes) refused: %w", qos, logTopic(topic), size, why)
}

// refuseOversize handles a packet over 32 KiB: a PUBLISH is refused as
// refusePublish says (its topic is read for the log, the rest skipped);
// anything else ends the connection as malformed.
func (b *broker311) refuseOversize(big *oversize) error {
	if big.header>>4 != 3 {
		return big
	}
	qos := big.header >> 1 & 3
	topic, err := skipPublish(b.a.wire, big.length)
	if err != nil {
		return fmt.Errorf("compat: client went away: %w", err)
	}
	return b.refusePublish(topic, big.length, qos, fmt.Errorf("%d-byte packet: the modem carries topics of up to 1024 bytes and payloads of up to 10240: %w",
		big.length, atmodem.ErrInvalidParameter))
}

// takenOver: MQTT 3.1.1 has no DISCONNECT from the server; the connection
// just ends.
func (b *broker311) takenOver() {}

func (b *broker311) pubrec(id uint16) {
	rec := packets.NewControlPacket(packets.Pubrec).(*packets.PubrecPacket)
	rec.MessageID = id
	b.a.send(encode311(rec))
}

// subscribe answers SUBSCRIBE with the requested QoS for each filter the
// modem subscribed (the modem reports success, not the broker's granted
// QoS) and 0x80 for each it refused.
func (b *broker311) subscribe(ctx context.Context, p *packets.SubscribePacket) {
	a := b.a
	codes := make([]byte, len(p.Topics))
	var valid []atmodem.Subscription
	var at []int
	for i, t := range p.Topics {
		sub := atmodem.Subscription{Topic: t, QoS: p.Qoss[i]}
		if err := a.sess.CheckSubscribe(sub); err != nil {
			a.log.Warn("compat: subscription refused", "filter", t, "err", err)
			codes[i] = 0x80
			continue
		}
		valid = append(valid, sub)
		at = append(at, i)
		codes[i] = sub.QoS
	}
	for k, err := range a.subscribe(ctx, valid) {
		if err != nil {
			codes[at[k]] = 0x80
		}
	}
	ack := packets.NewControlPacket(packets.Suback).(*packets.SubackPacket)
	ack.MessageID = p.MessageID
	ack.ReturnCodes = codes
	a.send(encode311(ack))
}

// unsubscribe answers UNSUBSCRIBE; MQTT 3.1.1's UNSUBACK carries no result,
// so a failure is only logged.
func (b *broker311) unsubscribe(ctx context.Context, p *packets.UnsubscribePacket) {
	a := b.a
	var valid []string
	for _, t := range p.Topics {
		if err := a.sess.CheckSubscribe(atmodem.Subscription{Topic: t}); err != nil {
			a.log.Warn("compat: unsubscribe skipped", "filter", t, "err", err)
			continue
		}
		valid = append(valid, t)
	}
	_ = a.unsubscribe(ctx, valid)
	ack := packets.NewControlPacket(packets.Unsuback).(*packets.UnsubackPacket)
	ack.MessageID = p.MessageID
	a.send(encode311(ack))
}

func (b *broker311) encodePublish(topic string, payload []byte, qos byte, id uint16) ([]byte, bool) {
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName = topic
	p.Payload = payload
	p.Qos = qos
	p.MessageID = id
	return encode311(p), true
}
