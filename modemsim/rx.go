package modemsim

import (
	"bytes"
	"strconv"
)

// inboundMessage is an inbound message waiting for its RX URCs.
type inboundMessage struct {
	topic   string
	payload []byte
}

// deliver turns a message the broker sent to index idx into its RX URC
// sequence. Called from back-end goroutines.
func (s *Sim) deliver(idx int, gen uint64, topic string, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := s.st.client(idx)
	if cl.gen != gen || s.closed() {
		return
	}
	if cl.connecting {
		cl.early = append(cl.early, inboundMessage{topic: topic, payload: bytes.Clone(payload)})
		return
	}
	s.rxURC(idx, topic, payload)
}

// rxURC queues the RX URC sequence of one message as one unit, so nothing
// is written inside it:
//
//	+CMQTTRXSTART: i,<topic_total_len>,<payload_total_len>
//	+CMQTTRXTOPIC: i,<n>  then n raw bytes (repeated for long topics)
//	+CMQTTRXPAYLOAD: i,<n>  then n raw bytes, chunks of Config.RXChunk
//	+CMQTTRXEND: i
//
// An empty payload has no RXPAYLOAD part (manual example 3.5).
func (s *Sim) rxURC(idx int, topic string, payload []byte) {
	s.out.urc(outUnit{data: rxSequence(idx, []byte(topic), payload, s.cfg.RXChunk), stream: true})
}

// rxSequence builds the bytes of an RX URC sequence.
func rxSequence(idx int, topic, payload []byte, chunk int) []byte {
	i := strconv.Itoa(idx)
	var b bytes.Buffer
	b.Grow(len(topic) + len(payload) + 128)
	b.WriteString("\r\n+CMQTTRXSTART: " + i + "," + strconv.Itoa(len(topic)) + "," + strconv.Itoa(len(payload)) + "\r\n")
	writeChunks(&b, "+CMQTTRXTOPIC: "+i+",", topic, chunk)
	writeChunks(&b, "+CMQTTRXPAYLOAD: "+i+",", payload, chunk)
	b.WriteString("+CMQTTRXEND: " + i + "\r\n")
	return b.Bytes()
}

func writeChunks(b *bytes.Buffer, header string, data []byte, chunk int) {
	for len(data) > 0 {
		n := min(len(data), chunk)
		b.WriteString(header + strconv.Itoa(n) + "\r\n")
		b.Write(data[:n])
		b.WriteString("\r\n")
		data = data[n:]
	}
}
