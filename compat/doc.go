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
//     will has no retain flag); the CONNACK carries the modem's verdict.
//     The modem's refusals 27-31 become 3.1.1 return codes 1-5 and MQTT 5
//     reason codes 0x84, 0x85, 0x88, 0x86, 0x87; a client ID or credentials
//     the modem cannot carry become "identifier rejected" (2, 0x85) and "bad
//     user name or password" (4, 0x86); every other failure (no network,
//     DNS, socket, TLS, timeout) is "server unavailable" (3, 0x88; 0x80 for
//     other parameters out of the modem's range), with the modem's error as
//     the MQTT 5 reason string and in the log. An empty client ID gets one
//     assigned ("cellmqtt-" and 12 hex digits). The keepalive is moved into
//     the model's range (SIM7600: 60-64800 s); the adapter answers the
//     client's PINGREQ itself. The CONNACK never says "session present": the
//     modem does not report it.
//   - PUBLISH becomes TOPIC, PAYLOAD and PUB. QoS 1 is answered with PUBACK
//     and QoS 2 with PUBREC once the modem confirmed (the modem does the
//     real QoS 2 exchange with the broker); PUBREL gets PUBCOMP. A message
//     the modem can never take (topic or payload out of range) is
//     acknowledged in 3.1.1 (as MQTT-3.3.5-2 allows) and refused with a
//     reason code in MQTT 5; after a transient failure of QoS 1 or 2 the
//     connection ends unanswered, so the client sends the message again
//     after it reconnected.
//   - SUBSCRIBE becomes AT+CMQTTSUB (several filters in one SUBSCRIBE; when
//     the broker refuses that, each filter alone, to learn which it takes).
//     The SUBACK grants the requested QoS for every filter the modem
//     subscribed (the modem reports success, not the broker's granted QoS)
//     and 0x80 (or an MQTT 5 reason) for every filter refused. UNSUBSCRIBE
//     becomes AT+CMQTTUNSUB and UNSUBACK.
//   - PINGREQ gets PINGRESP while the modem reports the connection alive.
//     The adapter does not ask the modem on every ping: the modem keeps its
//     own keepalive with the broker and reports a failure (+CMQTTPING,
//     +CMQTTCONNLOST, +CMQTTNONET, a reboot), which ends the connection.
//   - DISCONNECT becomes DISC and REL. Closing the connection without
//     DISCONNECT does the same: the modem has no way to drop the broker
//     connection without a clean DISCONNECT, so the client's will is not
//     published then.
//   - Received messages (+CMQTTRXSTART .. +CMQTTRXEND) become PUBLISH packets.
//     The modem reports no QoS, retain or dup flag: the adapter delivers
//     each message with the highest QoS of the client's subscriptions (made
//     on this connection) that match its topic, 0 when none does, with its
//     own packet IDs, and consumes the client's PUBACK, PUBREC and PUBCOMP;
//     retain and dup are always 0.
//   - +CMQTTCONNLOST, +CMQTTPING, +CMQTTNONET, a modem reboot and a closed
//     port end the connection: Read returns an error that wraps io.EOF and
//     the atmodem sentinel (ErrConnectionLost, ErrKeepalive, ErrNoNetwork,
//     ErrModemReset, ErrClosed), so the client's connection-lost handler
//     fires and its reconnect logic dials again through the adapter. The
//     client index is released before the error is read, so the reconnect
//     finds it free.
//
// Serve (and the "cellmqtt gateway" command) accepts local TCP connections
// and serves each the same way on its own client index; when both indexes
// are taken, a third connection's CONNECT is answered "server unavailable"
// and closed.
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
//	DISCONNECT 0x04 (with will)     the modem disconnects cleanly: the will is not published
//	request problem information     honoured: reason strings only when the client wants them
//	request response information    no response information is sent
//	server keep alive, reference    not sent
//	reason codes on PUBACK/PUBREC   0x00, 0x90 (topic the modem refuses), 0x83 (other refusal)
//	QoS, retain on inbound PUBLISH  QoS of the matching subscription, retain 0 (see above)
package compat
