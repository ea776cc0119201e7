package cellmqtt

import (
	"bytes"
	"fmt"
	"time"
)

// payloadBytes converts a Publish payload to bytes: string, []byte,
// bytes.Buffer and *bytes.Buffer (paho accepts the first three). Slices are
// not copied: the queue copies the message on Put, so the caller may reuse
// its buffer once Publish returns.
func payloadBytes(p interface{}) ([]byte, error) {
	switch v := p.(type) {
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	case bytes.Buffer:
		return v.Bytes(), nil
	case *bytes.Buffer:
		if v == nil {
			return nil, nil
		}
		return v.Bytes(), nil
	}
	return nil, fmt.Errorf("%w: got %T", ErrPayloadType, p)
}

// The modem's pub_timeout range (AT+CMQTTPUB), from the manuals.
const (
	minPubTimeout = 60 * time.Second
	maxPubTimeout = 180 * time.Second
)

// pubTimeout derives the modem's pub_timeout from the write timeout,
// clamped to 60-180 s (0 gives 60 s).
func pubTimeout(write time.Duration) time.Duration {
	return min(max(write, minPubTimeout), maxPubTimeout).Truncate(time.Second)
}
