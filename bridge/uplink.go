package bridge

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/cellmqtt/cellmqtt"
	"github.com/cellmqtt/cellmqtt/atmodem"
)

// startUplink creates the modem's client for the remote broker and starts
// connecting; subscriptions of the in rules follow each connection until
// they succeed once (the client renews them after every reconnect).
func (b *Bridge) startUplink() error {
	urls, err := b.cfg.BrokerURLs()
	if err != nil {
		return err
	}
	o := cellmqtt.NewClientOptions().
		SetModem(b.opts.Modem).
		SetClientIndex(b.opts.ClientIndex).
		SetClientID(b.cfg.ClientID()).
		SetKeepAlive(b.cfg.KeepAlive).
		SetCleanSession(b.cfg.CleanSession).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(b.cfg.RestartBase).
		SetMaxReconnectInterval(b.cfg.RestartCap).
		SetQueue(b.outQ).
		SetDropQoS0WhenOffline(true).
		SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ cellmqtt.Client, m cellmqtt.Message) { b.receive(m.Topic(), m.Payload()) }).
		SetOnConnectHandler(func(cellmqtt.Client) { b.onConnect() }).
		SetConnectionLostHandler(func(_ cellmqtt.Client, err error) { b.onLost(err) }).
		SetLogger(b.log)
	for _, u := range urls {
		o.AddBroker(u)
	}
	if b.opts.APN != "" {
		o.SetAPN(b.opts.APN)
	}
	if b.cfg.RemoteUsername != "" {
		o.SetUsername(b.cfg.RemoteUsername)
		o.SetPassword(b.cfg.RemotePassword)
	}
	if b.cfg.tls() {
		t, err := b.tlsConfig()
		if err != nil {
			return err
		}
		o.SetTLS(t)
	}
	if b.opts.clientOptions != nil {
		b.opts.clientOptions(o)
	}
	b.client = cellmqtt.NewClient(o)
	b.log.Info("connecting to the remote broker over the modem", "brokers", urls, "client_id", b.cfg.ClientID(), "index", b.opts.ClientIndex)
	tok := b.client.Connect()
	// With ConnectRetry the token completes only once connected, or with
	// an error that retrying cannot help (bad input, Disconnect).
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil && b.ctx.Err() == nil {
				b.stop(fmt.Errorf("bridge: connecting to the remote broker: %w", err))
			}
		case <-b.ctx.Done():
		}
	}()
	return nil
}

// tlsConfig reads the certificate files of bridge_cafile, bridge_certfile
// and bridge_keyfile for upload to the modem.
func (b *Bridge) tlsConfig() (cellmqtt.TLSConfig, error) {
	t := cellmqtt.TLSConfig{Context: b.opts.ClientIndex, SSLVersion: b.cfg.TLSVersion, AuthMode: atmodem.AuthServer}
	load := func(path, role string) (cellmqtt.Cert, error) {
		pem, err := os.ReadFile(path)
		if err != nil {
			return cellmqtt.Cert{}, fmt.Errorf("bridge: %s: %w", role, err)
		}
		// One name per client index and role, so two bridges on one modem
		// keep their own files.
		return cellmqtt.CertPEM("bridge"+strconv.Itoa(b.opts.ClientIndex)+"-"+role+".pem", pem), nil
	}
	var err error
	if t.CACert, err = load(b.cfg.CAFile, "ca"); err != nil {
		return t, err
	}
	if b.cfg.CertFile != "" {
		t.AuthMode = atmodem.AuthServerClient
		if t.ClientCert, err = load(b.cfg.CertFile, "cert"); err != nil {
			return t, err
		}
		if t.ClientKey, err = load(b.cfg.KeyFile, "key"); err != nil {
			return t, err
		}
	}
	return t, nil
}

// onConnect runs after every connection to the remote broker: state 1,
// the in subscriptions until they succeeded once, the unsubscription of
// out-only topics (bridge_attempt_unsubscribe), and the local retained
// messages of the out rules sent again, as mosquitto does.
func (b *Bridge) onConnect() {
	b.log.Info("connected to the remote broker")
	if !b.waitLocal() {
		return
	}
	b.state.kick()
	sub := b.subscribeIn()
	var unsub cellmqtt.Token
	topics := b.outOnlyRemoteTopics()
	if b.cfg.AttemptUnsubscribe && !b.cfg.CleanSession && len(topics) > 0 {
		unsub = b.client.Unsubscribe(topics...)
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if sub != nil {
			b.subscribed(sub)
		}
		if unsub != nil {
			b.await(unsub, "unsubscribing the out-only topics on the remote broker", "topics", topics)
		}
		b.settled.Add(1)
	}()
	b.local.replayRetained()
}

// onLost runs when the connection to the remote broker is lost.
func (b *Bridge) onLost(err error) {
	b.log.Warn("connection to the remote broker lost; messages are kept until it is back", "err", err)
	b.state.lost()
}

// subscribeIn subscribes the remote topics of the in rules, unless that
// succeeded before or is under way; it returns the token, or nil.
func (b *Bridge) subscribeIn() cellmqtt.Token {
	filters := b.inFilters()
	if len(filters) == 0 {
		return nil
	}
	b.subMu.Lock()
	defer b.subMu.Unlock()
	if b.isSubscribed || b.subscribing {
		return nil
	}
	b.subscribing = true
	return b.client.SubscribeMultiple(filters, nil)
}

// subscribed waits for the in subscription's token and records the result.
func (b *Bridge) subscribed(tok cellmqtt.Token) {
	ok := b.await(tok, "subscribing the in topics on the remote broker", "filters", b.inFilters())
	if ok {
		if st, isSub := tok.(*cellmqtt.SubscribeToken); isSub {
			for f, code := range st.Result() {
				if code == cellmqtt.SubscribeFailure {
					b.log.Error("the remote broker refused a subscription of an in rule", "filter", f)
				}
			}
		}
	}
	b.subMu.Lock()
	b.isSubscribed, b.subscribing = ok, false
	b.subMu.Unlock()
}

// inFilters are the remote filters of the in rules with their QoS.
func (b *Bridge) inFilters() map[string]byte {
	filters := map[string]byte{}
	for _, r := range b.cfg.Rules {
		if r.Direction.in() {
			filters[r.RemoteTopic()] = max(filters[r.RemoteTopic()], r.QoS)
		}
	}
	return filters
}

// outOnlyRemoteTopics are the remote topics of out rules that no in rule
// subscribes.
func (b *Bridge) outOnlyRemoteTopics() []string {
	in := map[string]bool{}
	for _, r := range b.cfg.Rules {
		if r.Direction.in() {
			in[r.RemoteTopic()] = true
		}
	}
	var topics []string
	seen := map[string]bool{}
	for _, r := range b.cfg.Rules {
		if t := r.RemoteTopic(); r.Direction == Out && !in[t] && !seen[t] {
			seen[t] = true
			topics = append(topics, t)
		}
	}
	return topics
}

// await waits for tok (or Close) and logs a failure; it reports success.
func (b *Bridge) await(tok cellmqtt.Token, what string, args ...any) bool {
	select {
	case <-tok.Done():
	case <-b.ctx.Done():
		return false
	}
	if err := tok.Error(); err != nil {
		if !errors.Is(err, cellmqtt.ErrDisconnected) || b.ctx.Err() == nil {
			b.log.Warn(what+" failed; tried again at the next connection", append(args, "err", err)...)
		}
		return false
	}
	return true
}

// echoTTL is how long the bridge waits, after the remote broker confirmed
// a message it sent out, for the remote broker's echo of it on an in
// subscription.
const echoTTL = 2 * time.Minute
