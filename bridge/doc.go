// Package bridge is cellmqtt's bridge: a local MQTT broker that any number
// of local programs use with MQTT 3.1.1 or 5, bridged over ONE client index
// of a SIMCom modem to a remote broker, configured with the bridge keywords
// of mosquitto.conf(5). It is to the modem what mosquitto's bridge is to a
// TCP link; "cellmqtt bridge" is its command.
//
// # Configuration
//
// ParseConfig reads one bridge section ("connection", "address", "topic"
// lines and the keywords that apply over the modem); keywords the modem
// cannot honour are refused with an error that names them and wraps
// ErrUnsupported. Topic rules have mosquitto's syntax and meaning:
//
//	topic <pattern> [[[out|in|both] qos] local-prefix remote-prefix]
//
// Out rules subscribe the local prefix plus pattern on the local broker and
// publish what arrives on the remote broker with the local prefix replaced
// by the remote one; in rules subscribe the remote prefix plus pattern
// through the modem and publish what arrives on the local broker. A
// message goes out at most once, at its QoS capped by the highest QoS of
// the out rules that match it (mosquitto sends one copy per matching rule).
//
// # The local side
//
// By default the local broker is embedded (mochi-mqtt), listening where
// Config.Listener says (DefaultListen, 127.0.0.1:1883, unless a "listener"
// line says otherwise) or on Options.Listener. Its hook hands each published message to the bridge before mochi
// acknowledges it: a QoS 1 or 2 message gets its PUBACK (or PUBREC) only
// once it is in the out queue, on disk with Options.QueueDir, so a crash
// of the process loses nothing the local broker acknowledged. With
// Options.Local the bridge instead joins an existing broker (a mosquitto)
// as a client with a persistent session and mosquitto's bridge marker
// (protocol level 0x84: no echo of its own messages, retain flags as
// published), acknowledging each message only after it is queued.
//
// # Who may act as the device
//
// Every local client acts with the device's identity at the remote
// broker: its client certificate, its credentials, its network. The
// embedded broker therefore takes mosquitto's listener keywords:
// password_file (a mosquitto_passwd file; a client must then give a user
// name and password of it), certfile and keyfile (TLS), allow_anonymous,
// and "listener PORT [ADDRESS]". An address other than loopback without a
// password file or TLS is refused unless allow_anonymous true (or
// ListenerConfig.InsecureListen) accepts it; a refused client gets the
// CONNACK "cellmqtt gateway" answers (not authorized without a user
// name, bad user name or password otherwise), and a connection that sends
// no CONNECT within 5 seconds is closed. Every client let in may publish
// and subscribe on every topic: there are no access control lists.
//
// # Store-and-forward
//
// The uplink is the project's paho-shaped client (package cellmqtt) on one
// modem client index, with its connection manager: it reconnects after
// every loss the modem reports, with the backoff of restart_timeout. While
// the link is down, out messages at QoS 1 and 2 wait in the durable queue
// and go out in order; QoS 0 messages are dropped, as mosquitto does.
// Messages the remote broker holds for the bridge (cleansession false, the
// default) arrive after the reconnect; with an existing local broker they
// pass through a durable in queue, so that broker may be down too.
//
// # What the modem cannot say
//
// The modem's receive URCs carry no retain flag and no QoS. The bridge
// publishes a message from the remote broker on the local broker not
// retained, at the highest QoS of the in rules that match its topic; a
// retained message on the remote broker therefore reaches the local
// subscribers present when it arrives, and is not kept for later ones.
// Messages sent out keep their retain flag (unless bridge_outgoing_retain
// is false), and the local retained messages of the out rules are sent
// again at each connection, as mosquitto does.
//
// # Loop prevention
//
// A message that came in from the remote broker is published by the
// bridge itself and never sent out again by a both rule. mosquitto's
// bridge also asks a remote mosquitto not to send its own messages back
// (try_private); the modem connects as an ordinary MQTT 3.1.1 client and
// cannot, so the bridge remembers what it sent on topics its in rules
// subscribe and drops the remote broker's echo of it.
//
// # Link state
//
// With notifications (the default) the bridge publishes "1" or "0",
// retained, on the local broker when the modem's connection is up or down
// (Config.StateTopic). It does not publish it on the remote broker: the
// modem cannot set the retained will that would clear it there. With
// Options.StatusTopic it also publishes a retained JSON Status.
package bridge
