package bridge

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/queue"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// mosquittoBridgeVersion is MQTT 3.1.1 with mosquitto's bridge bit (0x80):
// a mosquitto then treats the connection as a bridge, sending back neither
// the bridge's own messages (no local) nor clearing the retain flag of live
// messages (retain as published).
const mosquittoBridgeVersion = 0x84

// external is an existing local broker (a mosquitto) that the bridge joins
// as a client, with a persistent session: the local broker keeps what is
// published while the bridge is not running, and the bridge acknowledges
// each message only after it is in the out queue. Messages from the remote
// broker go through the durable in queue, so the local broker may be down.
type external struct {
	b   *Bridge
	url string
	inQ queue.Queue

	client mqtt.Client
	// echo is the local loop prevention when the broker refused the bridge
	// bit (not a mosquitto): the bridge's own deliveries come back on its
	// out subscriptions and are dropped there.
	echo *echoFilter

	mu         sync.Mutex        // guards states and freshSub
	states     map[string][]byte // the latest state message per topic
	freshSub   bool              // the out subscription was made since the last uplink connect
	outFilters map[string]byte
	stop       chan struct{}
	done       chan struct{}
	connected  chan struct{} // capacity 1: the local connection came up
}

// joinLocal connects to the existing local broker of Options.Local.
func joinLocal(b *Bridge) (*external, error) {
	u, err := url.Parse(b.opts.Local)
	if err != nil || (u.Scheme != "tcp" && u.Scheme != "mqtt") || u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("bridge: local broker %q: want tcp://HOST:PORT: %w", b.opts.Local, ErrConfig)
	}
	x := &external{
		b: b, url: "tcp://" + u.Host,
		states: map[string][]byte{}, outFilters: map[string]byte{},
		stop: make(chan struct{}), done: make(chan struct{}), connected: make(chan struct{}, 1),
	}
	for _, r := range b.cfg.Rules {
		if r.Direction.out() {
			x.outFilters[r.LocalTopic()] = max(x.outFilters[r.LocalTopic()], r.QoS)
		}
	}
	if b.opts.QueueDir == "" {
		x.inQ = queue.NewMemory(queue.Limits{})
	} else {
		dir := b.opts.QueueDir + string(os.PathSeparator) + "in"
		f, err := queue.OpenFile(dir, queue.Limits{}, queue.FileOptions{Logger: b.log})
		if err != nil {
			return nil, fmt.Errorf("bridge: in queue: %w", err)
		}
		x.inQ = f
	}
	version, err := x.probeVersion()
	if err != nil {
		_ = x.inQ.Close()
		return nil, err
	}
	if version != mosquittoBridgeVersion {
		x.echo = newEchoFilter(echoTTL)
	}
	x.client = mqtt.NewClient(x.options(version, true))
	x.client.Connect() // with ConnectRetry it completes once connected
	go x.runIn()
	b.log.Info("joining the local broker", "url", x.url, "client_id", b.cfg.localClientID())
	return x, nil
}

// options are the local client's options.
func (x *external) options(version uint, retry bool) *mqtt.ClientOptions {
	cfg := x.b.cfg
	o := mqtt.NewClientOptions().
		AddBroker(x.url).
		SetClientID(cfg.localClientID()).
		SetCleanSession(cfg.LocalCleanSession != nil && *cfg.LocalCleanSession).
		SetProtocolVersion(version).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetKeepAlive(30 * time.Second).
		SetAutoReconnect(retry).
		SetConnectRetry(retry).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetDefaultPublishHandler(x.onMessage).
		SetOnConnectHandler(func(mqtt.Client) { x.onConnect() }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			x.b.log.Warn("connection to the local broker lost; reconnecting", "url", x.url, "err", err)
		})
	if cfg.LocalUsername != "" {
		o.SetUsername(cfg.LocalUsername).SetPassword(cfg.LocalPassword)
	}
	if cfg.Notifications {
		o.SetWill(cfg.StateTopic(), "0", 1, true)
	}
	return o
}

// probeVersion connects once with the bridge bit; a broker that refuses it
// (not a mosquitto) gets plain MQTT 3.1.1. A broker that cannot be reached
// yet gets the bridge bit, tried again until it answers.
func (x *external) probeVersion() (uint, error) {
	// The probe takes no message: what the session holds stays
	// unacknowledged, and the broker sends it again to the real connection.
	c := mqtt.NewClient(x.options(mosquittoBridgeVersion, false).UnsetWill().
		SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) {}))
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		c.Disconnect(0)
		return mosquittoBridgeVersion, nil
	}
	err := tok.Error()
	if err == nil {
		// A clean DISCONNECT keeps the persistent session.
		c.Disconnect(100)
		return mosquittoBridgeVersion, nil
	}
	if errors.Is(err, packets.ErrorRefusedBadProtocolVersion) {
		x.b.log.Info("the local broker refused mosquitto's bridge marker; using MQTT 3.1.1 and dropping the bridge's own messages it sends back", "url", x.url)
		return 4, nil
	}
	return mosquittoBridgeVersion, nil
}

// onConnect subscribes the out rules' local topics (the local broker then
// sends the retained ones) and publishes the latest state messages again.
func (x *external) onConnect() {
	x.b.log.Info("connected to the local broker", "url", x.url)
	select {
	case x.connected <- struct{}{}:
	default:
	}
	if len(x.outFilters) > 0 {
		tok := x.client.SubscribeMultiple(x.outFilters, nil)
		go func() {
			if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
				x.mu.Lock()
				x.freshSub = true
				x.mu.Unlock()
				return
			}
			x.b.log.Warn("subscribing the out topics on the local broker failed", "err", tok.Error())
		}()
	}
	x.mu.Lock()
	states := make(map[string][]byte, len(x.states))
	for t, p := range x.states {
		states[t] = p
	}
	x.mu.Unlock()
	for t, p := range states {
		x.client.Publish(t, 1, true, p)
	}
}

// onMessage takes a message of the local broker for the out rules and
// acknowledges it once it is in the out queue. A message the bridge cannot
// queue because it is closing is not acknowledged (the local broker sends
// it again next time); one the modem cannot carry is acknowledged, logged
// and dropped.
func (x *external) onMessage(_ mqtt.Client, m mqtt.Message) {
	if x.echo != nil && x.echo.consume(echoKey(m.Topic(), m.Payload())) {
		m.Ack()
		return
	}
	if err := x.b.forward(m.Topic(), m.Payload(), m.Qos(), m.Retained()); err != nil {
		if errors.Is(err, queue.ErrClosed) || x.b.ctx.Err() != nil {
			return
		}
		if errors.Is(err, cellmqtt.ErrQoS0Dropped) {
			m.Ack()
			return
		}
		x.b.log.Warn("a local message cannot be queued for the remote broker; dropped", "topic", m.Topic(), "bytes", len(m.Payload()), "err", err)
	}
	m.Ack()
}

func (x *external) addr() string { return x.url }

// deliver puts a message from the remote broker into the in queue; the in
// sender publishes it on the local broker.
func (x *external) deliver(topic string, payload []byte, qos byte) error {
	if x.echo != nil {
		if _, out := outQoS(x.b.cfg.Rules, topic, qos); out {
			key := echoKey(topic, payload)
			x.echo.expect(key)
			x.echo.confirmed(key)
		}
	}
	_, err := x.inQ.Put(x.b.ctx, queue.Message{Topic: topic, Payload: payload, QoS: qos})
	return err
}

// runIn publishes the in queue on the local broker, in order, removing
// each message once the local broker acknowledged it.
func (x *external) runIn() {
	defer close(x.done)
	for {
		e, ok := x.inQ.Peek()
		if !ok {
			select {
			case <-x.inQ.Ready():
				continue
			case <-x.stop:
				return
			}
		}
		for !x.client.IsConnectionOpen() {
			select {
			case <-x.connected:
			case <-time.After(time.Second):
			case <-x.stop:
				return
			}
		}
		tok := x.client.Publish(e.Message.Topic, e.Message.QoS, false, e.Message.Payload)
		select {
		case <-tok.Done():
		case <-time.After(30 * time.Second):
		case <-x.stop:
			return
		}
		if tok.Error() != nil || !isDone(tok) {
			x.b.log.Warn("publishing on the local broker failed; trying again", "topic", e.Message.Topic, "err", tok.Error())
			continue
		}
		if err := x.inQ.Remove(e.ID); err != nil {
			x.b.log.Warn("removing a delivered message from the in queue", "err", err)
		}
	}
}

// isDone reports whether tok completed.
func isDone(tok mqtt.Token) bool {
	select {
	case <-tok.Done():
		return true
	default:
		return false
	}
}

func (x *external) publishState(topic string, payload []byte) error {
	x.mu.Lock()
	x.states[topic] = payload
	x.mu.Unlock()
	if !x.client.IsConnectionOpen() {
		return nil // published when the local broker is back
	}
	tok := x.client.Publish(topic, 1, true, payload)
	if !tok.WaitTimeout(5 * time.Second) {
		return errors.New("bridge: local broker: publish timed out")
	}
	return tok.Error()
}

// replayRetained subscribes the out topics again, so the local broker sends
// its retained messages to the bridge, unless the subscription was made
// since the last connection to the remote broker (its retained messages
// are then already queued).
func (x *external) replayRetained() {
	x.mu.Lock()
	fresh := x.freshSub
	x.freshSub = false
	x.mu.Unlock()
	if fresh || len(x.outFilters) == 0 || !x.client.IsConnectionOpen() {
		return
	}
	x.client.SubscribeMultiple(x.outFilters, nil)
}

func (x *external) close() error {
	close(x.stop)
	<-x.done
	x.client.Disconnect(250)
	return x.inQ.Close()
}
