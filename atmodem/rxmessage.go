package atmodem

import "fmt"

// rxAssembler builds one received message from +CMQTTRXSTART, one or more
// +CMQTTRXTOPIC and +CMQTTRXPAYLOAD chunks and +CMQTTRXEND, checking every
// length against the ones RXSTART announced. It is used by the reader
// goroutine only.
type rxAssembler struct {
	active     bool
	index      int
	topicLen   int
	payloadLen int
	topic      []byte
	payload    []byte
	chunk      urcKind // the kind of the header whose data comes next
	chunkIndex int
	failed     error // first inconsistency of the current message
	// oversize: the payload is longer than the modem's limit; the topic is
	// still read (for the error), the payload chunks are skipped.
	oversize bool
}

// start begins a message. A message still open is returned as an error
// (it is dropped).
func (a *rxAssembler) start(index, topicLen, payloadLen int) error {
	var err error
	if a.active {
		err = fmt.Errorf("RXSTART for client %d while a message for client %d was open: dropped it", index, a.index)
	}
	*a = rxAssembler{active: true, index: index, topicLen: topicLen, payloadLen: payloadLen}
	switch {
	case topicLen < 0 || topicLen > maxDataLen || payloadLen < 0:
		a.failed = fmt.Errorf("RXSTART lengths %d,%d out of range", topicLen, payloadLen)
	case payloadLen > maxDataLen:
		a.topic = make([]byte, 0, topicLen)
		a.oversize = true
	default:
		a.topic = make([]byte, 0, topicLen)
		a.payload = make([]byte, 0, payloadLen)
	}
	return err
}

// header notes a RXTOPIC or RXPAYLOAD header; its data comes next.
func (a *rxAssembler) header(kind urcKind, index int) {
	a.chunk, a.chunkIndex = kind, index
}

// data adds the data block of the last header. It returns an error for a
// block outside a message (the block is dropped).
func (a *rxAssembler) data(p []byte) error {
	kind := a.chunk
	a.chunk = urcNone
	if !a.active {
		return fmt.Errorf("%d-byte RX chunk without RXSTART: dropped", len(p))
	}
	if a.failed != nil {
		return nil
	}
	if a.chunkIndex != a.index {
		a.failed = fmt.Errorf("chunk for client %d inside a message for client %d", a.chunkIndex, a.index)
		return nil
	}
	switch kind {
	case urcRXTopic:
		if len(a.payload) > 0 {
			a.failed = fmt.Errorf("topic chunk after payload")
			return nil
		}
		if len(a.topic)+len(p) > a.topicLen {
			a.failed = fmt.Errorf("topic chunks exceed RXSTART topic length %d", a.topicLen)
			return nil
		}
		a.topic = append(a.topic, p...)
	case urcRXPayload:
		if a.oversize {
			return nil
		}
		if len(a.payload)+len(p) > a.payloadLen {
			a.failed = fmt.Errorf("payload chunks exceed RXSTART payload length %d", a.payloadLen)
			return nil
		}
		a.payload = append(a.payload, p...)
	}
	return nil
}

// end finishes the message of +CMQTTRXEND: index. It returns the message,
// or an error when the chunks do not add up (the message is dropped).
func (a *rxAssembler) end(index int) (*Message, error) {
	defer func() { *a = rxAssembler{} }()
	switch {
	case !a.active:
		return nil, fmt.Errorf("RXEND for client %d without RXSTART", index)
	case a.failed != nil:
		return nil, a.failed
	case index != a.index:
		return nil, fmt.Errorf("RXEND for client %d inside a message for client %d", index, a.index)
	case a.oversize:
		return nil, fmt.Errorf("message on topic %q: %d-byte payload, over the %d bytes a message may have: dropped", a.topic, a.payloadLen, maxDataLen)
	case len(a.topic) != a.topicLen:
		return nil, fmt.Errorf("topic is %d bytes, RXSTART announced %d", len(a.topic), a.topicLen)
	case len(a.payload) != a.payloadLen:
		return nil, fmt.Errorf("payload is %d bytes, RXSTART announced %d", len(a.payload), a.payloadLen)
	}
	return &Message{Index: a.index, Topic: string(a.topic), Payload: a.payload}, nil
}

// abort drops the message being assembled (modem reset, transport closed).
func (a *rxAssembler) abort() { *a = rxAssembler{} }
