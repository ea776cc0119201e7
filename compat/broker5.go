package compat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cellmqtt/cellmqtt/atmodem"
	"github.com/eclipse/paho.golang/packets"
)

// broker5 is the broker side of MQTT 5, encoded and decoded with
// github.com/eclipse/paho.golang/packets. What becomes of each MQTT 5
// feature is in the package documentation.
type broker5 struct {
	a *adapter
	// problemInfo is the client's Request Problem Information: reason
	// strings only go into CONNACK and DISCONNECT when it is false.
	problemInfo bool
	// maxPacket is the client's Maximum Packet Size, 0 when unlimited.
	maxPacket uint32
	// awaitRel: as in broker311.
	awaitRel qos2IDs
}

// sessionNeverExpires is the Session Expiry Interval of a session the
// MQTT 3.1.1 broker behind the modem keeps: until a clean connect.
const sessionNeverExpires = 0xFFFFFFFF

func ptr[T any](v T) *T { return &v }

func encode5(cp *packets.ControlPacket) []byte {
	var b bytes.Buffer
	_, _ = cp.WriteTo(&b)
	return b.Bytes()
}

func decode5(frame []byte) (cp *packets.ControlPacket, err error) {
	defer recoverMalformed(&err)
	cp, err = packets.ReadPacket(bytes.NewReader(frame))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return cp, nil
}

// connack5 encodes a CONNACK with reason code rc and properties.
func connack5(rc byte, props *packets.Properties) []byte {
	cp := packets.NewControlPacket(packets.CONNACK)
	c := cp.Content.(*packets.Connack)
	c.ReasonCode = rc
	if props != nil {
		c.Properties = props
	}
	return encode5(cp)
}

// reason returns props with a reason string when the client wants them.
func (b *broker5) reason(text string) *packets.Properties {
	if !b.problemInfo || text == "" {
		return &packets.Properties{}
	}
	return &packets.Properties{ReasonString: text}
}

// disconnectWith sends a server DISCONNECT with a reason code and returns
// the error that ends the adapter.
func (b *broker5) disconnectWith(rc byte, text string) error {
	cp := packets.NewControlPacket(packets.DISCONNECT)
	d := cp.Content.(*packets.Disconnect)
	d.ReasonCode = rc
	d.Properties = &packets.Properties{ReasonString: text}
	b.a.send(encode5(cp))
	return fmt.Errorf("compat: disconnected the client (reason 0x%02X): %s", rc, text)
}

// dropped names the properties of a message or will that the modem cannot
// carry (MQTT 3.1.1 has none of them).
func dropped(p *packets.Properties) []string {
	if p == nil {
		return nil
	}
	var names []string
	add := func(present bool, name string) {
		if present {
			names = append(names, name)
		}
	}
	add(p.PayloadFormat != nil, "payload format indicator")
	add(p.MessageExpiry != nil, "message expiry interval")
	add(p.ContentType != "", "content type")
	add(p.ResponseTopic != "", "response topic")
	add(p.CorrelationData != nil, "correlation data")
	add(len(p.User) > 0, "user properties")
	add(p.WillDelayInterval != nil, "will delay interval")
	return names
}

func (b *broker5) connect(frame []byte) error {
	a := b.a
	cp, err := decode5(frame)
	if err != nil {
		return err
	}
	c, ok := cp.Content.(*packets.Connect)
	if !ok {
		return fmt.Errorf("compat: first packet is not CONNECT: %w", errMalformed)
	}
	refuse := func(rc byte, text string) error {
		a.send(connack5(rc, &packets.Properties{ReasonString: text}))
		return fmt.Errorf("compat: CONNECT refused (reason 0x%02X): %s", rc, text)
	}
	if c.ProtocolName != "MQTT" {
		return refuse(packets.ConnackUnsupportedProtocolVersion, "protocol name "+c.ProtocolName)
	}
	props := c.Properties
	if props == nil {
		props = &packets.Properties{}
	}
	if props.AuthMethod != "" {
		return refuse(packets.ConnackBadAuthenticationMethod,
			"enhanced authentication is not supported: the modem speaks MQTT 3.1.1")
	}
	if c.WillFlag && c.WillRetain {
		return refuse(packets.ConnackRetainNotSupported, "the modem's will message has no retain flag")
	}
	b.problemInfo = props.RequestProblemInfo == nil || *props.RequestProblemInfo != 0
	if props.MaximumPacketSize != nil {
		b.maxPacket = *props.MaximumPacketSize
	}
	receiveMax := 65535
	if props.ReceiveMaximum != nil {
		receiveMax = int(*props.ReceiveMaximum)
	}
	var expiry uint32
	if props.SessionExpiryInterval != nil {
		expiry = *props.SessionExpiryInterval
	}
	opts := atmodem.ConnectOptions{
		ClientID:     c.ClientID,
		CleanSession: expiry == 0,
	}
	if c.CleanStart && expiry > 0 {
		a.log.Warn("compat: clean start with a session expiry: MQTT 3.1.1 cannot start clean and keep the session; an old session is resumed",
			"client", c.ClientID)
	}
	assigned := ""
	if opts.ClientID == "" {
		assigned = assignClientID()
		opts.ClientID = assigned
	}
	user := ""
	if c.UsernameFlag {
		user = c.Username
	}
	var pass []byte
	if c.PasswordFlag {
		pass = c.Password
	}
	if _, rc, err := a.cfg.authenticate(user, pass); err != nil {
		a.log.Warn("compat: client refused", "err", err)
		return refuse(rc, err.Error())
	}
	a.credentials(&opts, c.Username, c.UsernameFlag, c.Password, c.PasswordFlag)
	if len(props.User) > 0 {
		a.log.Warn("compat: CONNECT user properties dropped", "client", opts.ClientID)
	}
	if c.WillFlag {
		opts.Will = &atmodem.Will{Topic: c.WillTopic, Payload: c.WillMessage, QoS: c.WillQOS}
		if d := dropped(c.WillProperties); len(d) > 0 {
			a.log.Warn("compat: will properties dropped", "client", opts.ClientID, "properties", d)
		}
	}
	if err := a.beginSession(opts.ClientID, assigned != "", expiry > 0); err != nil {
		return refuse(packets.ConnackServerUnavailable, err.Error())
	}
	a.keepAlive = c.KeepAlive
	a.will = opts.Will
	if err := a.modemConnect(opts, c.KeepAlive); err != nil {
		if mayPass(err) {
			return fmt.Errorf("compat: CONNECT not answered, the broker cannot be reached now (the client tries again): %w", err)
		}
		_, rc := connectRefusal(err)
		a.send(connack5(rc, &packets.Properties{ReasonString: err.Error()}))
		return fmt.Errorf("compat: CONNECT refused (reason 0x%02X): %w", rc, err)
	}
	a.modemConnected()
	a.out = newInflight(receiveMax)
	ack := &packets.Properties{
		MaximumPacketSize:  ptr(uint32(maxPacketSize)),
		SubIDAvailable:     ptr(byte(0)),
		SharedSubAvailable: ptr(byte(0)),
		AssignedClientID:   assigned,
	}
	if expiry > 0 {
		ack.SessionExpiryInterval = ptr(uint32(sessionNeverExpires))
	}
	if !a.send(connack5(packets.ConnackSuccess, ack)) {
		return fmt.Errorf("compat: CONNACK not delivered: %w", a.reason)
	}
	return nil
}

func (b *broker5) handle(frame []byte) error {
	a := b.a
	cp, err := decode5(frame)
	if err != nil {
		return b.disconnectWith(packets.DisconnectMalformedPacket, err.Error())
	}
	switch p := cp.Content.(type) {
	case *packets.Pingreq:
		a.ping(encode5(packets.NewControlPacket(packets.PINGRESP)))
	case *packets.Puback:
		b.acked(p.PacketID, awaitPuback, "PUBACK")
	case *packets.Pubrec:
		if b.acked(p.PacketID, awaitPubrec, "PUBREC") && p.ReasonCode < 0x80 {
			a.send(ack5(packets.PUBREL, p.PacketID, 0, nil))
		} else if p.ReasonCode >= 0x80 {
			// A refused PUBREC ends the exchange (MQTT 5, 4.3.3).
			a.out.release(p.PacketID)
		}
	case *packets.Pubcomp:
		b.acked(p.PacketID, awaitPubcomp, "PUBCOMP")
	case *packets.Publish:
		if p.QoS > 2 {
			return b.disconnectWith(packets.DisconnectMalformedPacket, "PUBLISH with QoS 3")
		}
		if p.Properties != nil && p.Properties.TopicAlias != nil {
			return b.disconnectWith(packets.DisconnectTopicAliasInvalid, "topic aliases are not supported (Topic Alias Maximum is 0)")
		}
		if p.Properties != nil && p.Properties.SubscriptionIdentifier != nil {
			return b.disconnectWith(packets.DisconnectProtocolError, "a client PUBLISH must not carry a subscription identifier")
		}
		if strings.ContainsAny(p.Topic, "+#") || p.Topic == "" {
			return b.disconnectWith(packets.DisconnectTopicNameInvalid, fmt.Sprintf("topic name %q", p.Topic))
		}
		if d := dropped(p.Properties); len(d) > 0 {
			a.log.Debug("compat: PUBLISH properties dropped", "topic", p.Topic, "properties", d)
		}
		a.enqueue(len(frame), func(ctx context.Context) { b.publish(ctx, p) })
	case *packets.Pubrel:
		a.enqueue(len(frame), func(context.Context) { b.pubrel(p.PacketID) })
	case *packets.Subscribe:
		if p.Properties != nil && p.Properties.SubscriptionIdentifier != nil {
			return b.disconnectWith(packets.DisconnectSubscriptionIdentifiersNotSupported,
				"subscription identifiers are not supported")
		}
		a.enqueueChange(len(frame), func(ctx context.Context) { b.subscribe(ctx, p) })
	case *packets.Unsubscribe:
		a.enqueueChange(len(frame), func(ctx context.Context) { b.unsubscribe(ctx, p) })
	case *packets.Disconnect:
		a.requestDisconnect(len(frame), p.ReasonCode == packets.DisconnectDisconnectWithWillMessage)
	case *packets.Auth:
		return b.disconnectWith(packets.DisconnectProtocolError, "AUTH without an authentication method")
	default:
		return b.disconnectWith(packets.DisconnectProtocolError, "unexpected "+cp.PacketType())
	}
	return nil
}

func (b *broker5) acked(id uint16, want outbound, name string) bool {
	if b.a.out.acked(id, want) {
		return true
	}
	b.a.log.Debug("compat: acknowledgement for no message in flight", "packet", name, "id", id)
	return false
}

// publishReason is the PUBACK or PUBREC reason code of a publish the modem
// can never take.
func publishReason(err error) byte {
	var pe *atmodem.ParamError
	if errors.As(err, &pe) && pe.Param == "topic" {
		return packets.PubackTopicNameInvalid
	}
	return packets.PubackImplementationSpecificError
}

// publish sends the client's message through the modem and answers once
// the modem confirmed: PUBACK or PUBREC with reason 0x00, or with a refusal
// reason when the modem can never take it; a transient failure ends the
// connection unanswered so that the client sends the message again.
func (b *broker5) publish(ctx context.Context, p *packets.Publish) {
	a := b.a
	if p.QoS == 2 && b.awaitRel.has(p.PacketID) {
		a.queueAnswer(pendingPub{done: func(error) { b.pubrec(p.PacketID, 0, "") }})
		return
	}
	a.publishAsync(ctx, atmodem.Publish{
		Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain, Dup: p.Duplicate,
	}, func(err error) { b.published(p, err) })
}

// published answers the client's message with the outcome of its publish.
func (b *broker5) published(p *packets.Publish, err error) {
	a := b.a
	var rc byte
	text := ""
	if err != nil {
		if p.QoS > 0 && atmodem.FateOf(err) != atmodem.FateRefused {
			a.failTransient("publish", err)
			return
		}
		rc, text = publishReason(err), err.Error()
	}
	switch p.QoS {
	case 1:
		a.send(ack5(packets.PUBACK, p.PacketID, rc, b.reason(text)))
	case 2:
		if rc == 0 {
			b.awaitRel.add(p.PacketID)
		}
		b.pubrec(p.PacketID, rc, text)
	}
}

func (b *broker5) pubrec(id uint16, rc byte, text string) {
	b.a.send(ack5(packets.PUBREC, id, rc, b.reason(text)))
}

func (b *broker5) pubrel(id uint16) {
	var rc byte
	if !b.awaitRel.remove(id) {
		rc = packets.PubcompPacketIdentifierNotFound
	}
	b.a.send(ack5(packets.PUBCOMP, id, rc, nil))
}

// refuseOversize answers a packet over the Maximum Packet Size of the
// CONNACK with DISCONNECT 0x95 (packet too large).
func (b *broker5) refuseOversize(big *oversize) error {
	return b.disconnectWith(packets.DisconnectPacketTooLarge, big.Error())
}

// takenOver sends DISCONNECT 0x8E (session taken over).
func (b *broker5) takenOver() {
	_ = b.disconnectWith(packets.DisconnectSessionTakenOver, "a new connection with the same client ID took the session over")
}

// subscribeRefusal says why a subscription option cannot be carried by the
// modem, or returns 0.
func subscribeRefusal(o packets.SubOptions) (byte, string) {
	switch {
	case strings.HasPrefix(o.Topic, "$share/"):
		return packets.SubackSharedSubscriptionnotsupported, "shared subscriptions are not supported"
	case o.NoLocal:
		return packets.SubackImplementationspecificerror, "no local is not supported: the modem cannot tell its own messages"
	case o.RetainAsPublished:
		return packets.SubackImplementationspecificerror, "retain as published is not supported: the modem reports no retain flag"
	case o.RetainHandling != 0:
		return packets.SubackImplementationspecificerror, "retain handling 1 and 2 are not supported: the modem reports no retain flag"
	}
	return 0, ""
}

func (b *broker5) subscribe(ctx context.Context, p *packets.Subscribe) {
	a := b.a
	codes := make([]byte, len(p.Subscriptions))
	var reasons []string
	var valid []atmodem.Subscription
	var at []int
	for i, o := range p.Subscriptions {
		if rc, why := subscribeRefusal(o); rc != 0 {
			codes[i] = rc
			reasons = append(reasons, o.Topic+": "+why)
			continue
		}
		sub := atmodem.Subscription{Topic: o.Topic, QoS: o.QoS}
		if err := a.sess.CheckSubscribe(sub); err != nil {
			codes[i] = packets.SubackTopicFilterinvalid
			reasons = append(reasons, err.Error())
			continue
		}
		valid = append(valid, sub)
		at = append(at, i)
		codes[i] = o.QoS
	}
	for k, err := range a.subscribe(ctx, valid) {
		if err != nil {
			codes[at[k]] = packets.SubackUnspecifiederror
			reasons = append(reasons, err.Error())
		}
	}
	if len(reasons) > 0 {
		a.log.Warn("compat: subscriptions refused", "reasons", reasons)
	}
	cp := packets.NewControlPacket(packets.SUBACK)
	ack := cp.Content.(*packets.Suback)
	ack.PacketID, ack.Reasons, ack.Properties = p.PacketID, codes, b.reason(strings.Join(reasons, "; "))
	a.send(encode5(cp))
}

func (b *broker5) unsubscribe(ctx context.Context, p *packets.Unsubscribe) {
	a := b.a
	codes := make([]byte, len(p.Topics))
	var reasons []string
	var valid []string
	var at []int
	for i, t := range p.Topics {
		if err := a.sess.CheckSubscribe(atmodem.Subscription{Topic: t}); err != nil {
			codes[i] = packets.UnsubackTopicFilterInvalid
			reasons = append(reasons, err.Error())
			continue
		}
		valid = append(valid, t)
		at = append(at, i)
	}
	if err := a.unsubscribe(ctx, valid); err != nil {
		for _, i := range at {
			codes[i] = packets.UnsubackUnspecifiedError
		}
		reasons = append(reasons, err.Error())
	}
	cp := packets.NewControlPacket(packets.UNSUBACK)
	ack := cp.Content.(*packets.Unsuback)
	ack.PacketID, ack.Reasons, ack.Properties = p.PacketID, codes, b.reason(strings.Join(reasons, "; "))
	a.send(encode5(cp))
}

func (b *broker5) encodePublish(topic string, payload []byte, qos byte, id uint16) ([]byte, bool) {
	cp := packets.NewControlPacket(packets.PUBLISH)
	p := cp.Content.(*packets.Publish)
	p.Topic, p.Payload, p.QoS, p.PacketID = topic, payload, qos, id
	enc := encode5(cp)
	if b.maxPacket > 0 && uint32(len(enc)) > b.maxPacket {
		return nil, false
	}
	return enc, true
}
