// Package compat lets the real Eclipse Paho clients run over a SIMCom
// modem unchanged, and serves a local MQTT endpoint over the modem for
// clients in any language.
//
// An application that uses paho.mqtt.golang, paho.golang or autopaho keeps
// its client, tokens, handlers, stores and reconnect logic and only changes
// how the network connection is opened:
//
//	// paho.mqtt.golang
//	opts.SetCustomOpenConnectionFn(compat.OpenConnectionFn(modem))
//	// autopaho
//	cfg.AttemptConnection = compat.AttemptConnectionFn(modem)
//	// paho.golang
//	conn, err := compat.Dial(ctx, modem, "tcp://broker.example.com:1883")
//
// The returned net.Conn is an in-memory connection whose far end plays the
// broker: it reads the packets the client writes (MQTT 3.1.1 with
// github.com/eclipse/paho.mqtt.golang/packets, MQTT 5 with
// github.com/eclipse/paho.golang/packets, chosen by the protocol level of
// the CONNECT) and turns them into the modem's AT commands through an
// atmodem.Session on one client index:
//
//   - CONNECT runs the modem's connect sequence (client ID, keepalive, clean
//     session, credentials, will; a retained will is refused, the modem's
//     will has no retain flag); the CONNACK carries the modem's verdict
//     when it is final. The modem's refusals 27, 28, 30 and 31 become 3.1.1
//     return codes 1, 2, 4 and 5 and MQTT 5 reason codes 0x84, 0x85, 0x86,
//     0x87; a client ID or credentials the modem cannot carry become
//     "identifier rejected" (2, 0x85) and "bad user name or password" (4,
//     0x86); other refusals (a parameter out of the modem's range, a
//     certificate not set) are "server unavailable" (3; 0x88 or 0x80 in
//     MQTT 5) with the modem's error as the MQTT 5 reason string and in the
//     log. While the broker cannot be reached for a reason that may pass
//     (no network, a socket or DNS failure, TLS handshake, the broker
//     "server unavailable", no answer in time: atmodem.FateOf says the link
//     is down or the outcome unknown), no CONNACK is sent: the connection
//     closes (MQTT 3.1.1 section 3.2.2.3 allows it) and the client tries
//     again as it would after a failed TCP connect, where a CONNACK refusal
//     would end most clients for good. An empty client ID gets one
//     assigned ("cellmqtt-" and 12 hex digits). The keepalive is moved into
//     the model's range (SIM7600: 60-64800 s); the adapter answers the
//     client's PINGREQ itself. The CONNACK never says "session present":
//     the modem does not report it. A CONNECT with the client ID of another
//     connection of this package on the same modem takes its session over
//     (MQTT-3.1.4-2): that connection ends first (MQTT 5: DISCONNECT
//     0x8E), as if its client had left without DISCONNECT.
//   - PUBLISH becomes TOPIC, PAYLOAD and PUB. QoS 1 is answered with PUBACK
//     and QoS 2 with PUBREC once the modem confirmed (the modem does the
//     real QoS 2 exchange with the broker); PUBREL gets PUBCOMP. A message
//     the modem can never take (topic over 1024 bytes, payload over 10240,
//     a packet over 32 KiB, or a refusal by the modem) is refused with a
//     reason code in MQTT 5 (0x90, 0x83; a packet over the Maximum Packet
//     Size gets DISCONNECT 0x95); MQTT 3.1.1 has no way to say so, and a
//     PUBACK would tell the client the message was delivered, so at QoS 1
//     and 2 the connection ends without acknowledgement (the other choice
//     MQTT-3.3.5-2 gives a server; the client keeps the message and sends
//     it again after it reconnected, where it is refused again) and at
//     QoS 0 the message is dropped and logged at warning level with its
//     topic and size. After a transient failure of QoS 1 or 2 the
//     connection ends unanswered, so the client sends the message again
//     after it reconnected.
//   - SUBSCRIBE becomes AT+CMQTTSUB (several filters in one SUBSCRIBE; when
//     the broker refuses that, each filter alone, to learn which it takes).
//     The SUBACK grants the requested QoS for every filter the modem
//     subscribed (the modem reports success, not the broker's granted QoS)
//     and 0x80 (or an MQTT 5 reason) for every filter refused. UNSUBSCRIBE
//     becomes AT+CMQTTUNSUB and UNSUBACK.
//   - Packets go to the modem in order, one operation at a time. Across
//     the connections on one modem, a SUBSCRIBE or UNSUBSCRIBE not yet
//     carried out is in place before a message another client published
//     after it, as a broker does (for up to 2 s while it waits behind its
//     own connection's backlog); otherwise the connections take turns, so
//     one client's burst does not hold up another's messages. The adapter
//     keeps reading the client while up to 8 MiB of them wait, so a
//     PINGREQ is answered at once however many messages the client handed
//     over (PINGRESP while the modem reports the connection alive). The
//     adapter does not ask the modem on every ping: the modem keeps its
//     own keepalive with the broker and reports a failure (+CMQTTPING,
//     +CMQTTCONNLOST, +CMQTTNONET, a reboot), which ends the connection.
//   - DISCONNECT closes the client's connection at once, as a broker does;
//     what the client sent before it still goes to the modem, then DISC and
//     REL (the broker discards the will). When the client leaves without
//     DISCONNECT (its connection closes, it is silent for one and a half
//     keepalive periods, it breaks the protocol, or a new connection takes
//     its session over), and when an MQTT 5 client disconnects with reason
//     0x04, the adapter publishes the client's will on its behalf (topic,
//     payload and QoS of the will) and then sends DISC and REL: neither
//     modem family has a command that ends one client's broker connection
//     without a clean MQTT DISCONNECT (AT+CMQTTREL needs AT+CMQTTDISC
//     first, AT+CMQTTSTOP needs every client released, dropping the data
//     connection would end both client indexes), so the broker would
//     discard the will. The will set on the modem still covers the modem's
//     own link dying, where the broker publishes it.
//   - Received messages (+CMQTTRXSTART .. +CMQTTRXEND) become PUBLISH packets.
//     The modem reports no QoS, retain or dup flag: the adapter delivers
//     each message with the highest QoS of the client's subscriptions that
//     match its topic, 0 when none does, with its own packet IDs, and
//     consumes the client's PUBACK, PUBREC and PUBCOMP; retain and dup are
//     always 0. The subscriptions of a client with a persistent session
//     (3.1.1 clean session 0, MQTT 5 session expiry > 0) are kept from one
//     connection to the next while the process runs, so the messages the
//     broker queued while the client was away, which arrive before the
//     client has subscribed again, get the QoS of its subscription; after a
//     restart of the process they are delivered with QoS 0 until the client
//     subscribes again. A message the modem itself cannot deliver (over
//     10240 bytes) never reaches the adapter: atmodem drops it and logs it
//     at warning level with its topic and size.
//   - +CMQTTCONNLOST, +CMQTTPING, +CMQTTNONET, a modem reboot and a closed
//     port end the connection: Read returns an error that wraps io.EOF and
//     the atmodem sentinel (ErrConnectionLost, ErrKeepalive, ErrNoNetwork,
//     ErrModemReset, ErrClosed), so the client's connection-lost handler
//     fires and its reconnect logic dials again through the adapter. The
//     client index is released before the error is read, so the reconnect
//     finds it free.
//
// Close returns once the modem answered the connection's last command and
// the client index is given back, so an application may close the modem
// right after its client's Disconnect returned.
//
// Serve (and the "cellmqtt gateway" command) accepts local TCP connections
// and serves each the same way on its own client index. A connection takes
// an index only once it sent a valid CONNECT (within 5 seconds, or it is
// closed) and, with WithAuthenticator, passed the authentication; when
// both indexes are taken, its CONNECT waits up to 30 seconds
// (WithIndexWait) for one to be given back, then is answered "server
// unavailable" and closed. Every local
// client acts at the broker with the device's identity (its client
// certificate, its network): WithAuthenticator keeps unknown local clients
// out.
//
// # MQTT 5
//
// The modem speaks MQTT 3.1.1 to the broker, so MQTT 5 features either map
// onto 3.1.1, or are dropped (the information does not reach the broker,
// and the log says so), or are refused with the reason code MQTT 5 has for
// it. Nothing is reported as done that was not.
//
//	feature                         becomes
//	------------------------------  ------------------------------------------------------------
//	session expiry interval         0: clean session; > 0: clean session off, and the CONNACK
//	                                reports 0xFFFFFFFF (a 3.1.1 broker keeps the session until
//	                                a clean connect); clean start with an expiry resumes an
//	                                old session (3.1.1 cannot start clean and keep)
//	session present                 always 0 in CONNACK (the modem does not report it)
//	topic alias                     not offered (Topic Alias Maximum 0); a PUBLISH with a topic
//	                                alias gets DISCONNECT 0x94; the adapter sends none
//	user properties                 dropped (CONNECT, PUBLISH, SUBSCRIBE, will)
//	message expiry interval         dropped: the message never expires
//	response topic                  dropped
//	correlation data                dropped
//	content type                    dropped
//	payload format indicator        dropped (payloads are opaque bytes to the modem)
//	subscription identifiers        not offered (Subscription Identifier Available 0); a
//	                                SUBSCRIBE with one gets DISCONNECT 0xA1
//	shared subscriptions            not offered (Shared Subscription Available 0); a $share/
//	                                filter gets SUBACK 0x9E
//	no local                        refused: SUBACK 0x83 (the modem cannot tell its own messages)
//	retain as published             refused: SUBACK 0x83 (the modem reports no retain flag)
//	retain handling 1, 2            refused: SUBACK 0x83 (ditto); 0 (send retained) is 3.1.1's
//	receive maximum (client's)      honoured for messages delivered with QoS 1 and 2
//	receive maximum (adapter's)     not limited: publishes queue for the modem in order
//	maximum packet size (client's)  honoured: a larger received message is dropped and logged
//	maximum packet size (adapter's) 32 KiB in the CONNACK
//	AUTH, authentication method     refused: CONNACK 0x8C; an AUTH packet gets DISCONNECT 0x82
//	will properties                 dropped (will delay interval: the will goes at once)
//	will retain                     refused: CONNACK 0x9A (the modem's will has no retain flag);
//	                                in 3.1.1 return code 3, as it has no better one
//	DISCONNECT 0x04 (with will)     the will is published on the client's behalf, then DISC
//	request problem information     honoured: reason strings only when the client wants them
//	request response information    no response information is sent
//	server keep alive, reference    not sent
//	reason codes on PUBACK/PUBREC   0x00 (left out with empty properties, as mosquitto does),
//	                                0x90 (topic the modem refuses), 0x83 (other refusal)
//	session taken over              DISCONNECT 0x8E to the old connection (see CONNECT)
//	QoS, retain on inbound PUBLISH  QoS of the matching subscription, retain 0 (see above)
package compat
