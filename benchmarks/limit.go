package benchmarks

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// BitsPerByte is what one byte costs on a UART in 8N1 framing: a start bit,
// eight data bits and a stop bit. modemsim's link model uses the same.
const BitsPerByte = 10

// Wire is what crossed the AT port, counted from a modemsim transcript.
type Wire struct {
	// ToModem is the bytes the host wrote: command lines and prompt data.
	ToModem int
	// ToHost is the bytes the modem wrote: echo, answers, prompts, URCs and
	// received messages.
	ToHost int
	// Commands is the number of AT command lines the host wrote.
	Commands int
}

// Bytes is the total both ways.
func (w Wire) Bytes() int { return w.ToModem + w.ToHost }

// Sub is w minus an earlier count: what crossed between the two.
func (w Wire) Sub(earlier Wire) Wire {
	return Wire{ToModem: w.ToModem - earlier.ToModem, ToHost: w.ToHost - earlier.ToHost, Commands: w.Commands - earlier.Commands}
}

// TransferTime is how long a serial link at baud bits per second each way
// needs to carry w when nothing overlaps: every command, its data, the
// prompts and answers sent strictly in turn, 10 bits a byte. It is in
// seconds; 0 for an unlimited link (baud 0).
func (w Wire) TransferTime(baud int) float64 {
	if baud <= 0 {
		return 0
	}
	return float64(w.Bytes()*BitsPerByte) / float64(baud)
}

// LinkLimit is the highest rate, in operations a second, at which a link of
// baud bits per second each way can repeat an operation that moves w (one
// publish, one received message), sent and answered strictly in turn.
func LinkLimit(w Wire, baud int) float64 {
	t := w.TransferTime(baud)
	if t == 0 {
		return 0
	}
	return 1 / t
}

// CountWire counts the bytes each way in a transcript and the command lines
// among the host's bytes (the data written after a prompt is skipped by its
// announced length, so payload bytes that look like "AT" are not counted).
func CountWire(entries []modemsim.TranscriptEntry) Wire {
	var w Wire
	var toModem []byte
	for _, e := range entries {
		switch e.Dir {
		case modemsim.ToModem:
			w.ToModem += len(e.Data)
			toModem = append(toModem, e.Data...)
		case modemsim.ToHost:
			w.ToHost += len(e.Data)
		}
	}
	w.Commands = countCommands(toModem)
	return w
}

// countCommands counts AT command lines in the host->modem stream, skipping
// the data that follows a data command's prompt.
func countCommands(b []byte) int {
	n := 0
	for len(b) > 0 {
		end := bytes.IndexByte(b, '\r')
		if end < 0 {
			break
		}
		line := strings.TrimLeft(string(b[:end]), "\n")
		b = b[end+1:]
		if len(line) < 2 || !strings.EqualFold(line[:2], "AT") {
			continue
		}
		n++
		if k := dataLength(line); k > 0 {
			b = b[min(k, len(b)):]
		}
	}
	return n
}

// dataLength is the number of raw bytes a command line announces for after
// its prompt, 0 for a command without data. It knows the commands of the
// MQTT manuals that take data: TOPIC, PAYLOAD, WILLTOPIC, WILLMSG,
// SUBTOPIC, UNSUBTOPIC (length is the 2nd parameter), SUB and UNSUB in
// their single-topic forms (three or more parameters) and CCERTDOWN
// (length is the 2nd parameter).
func dataLength(line string) int {
	eq := strings.IndexByte(line, '=')
	if eq < 0 || !strings.HasPrefix(strings.ToUpper(line), "AT+") {
		return 0
	}
	name := strings.ToUpper(line[3:eq])
	params := strings.Split(line[eq+1:], ",")
	switch name {
	case "CMQTTTOPIC", "CMQTTPAYLOAD", "CMQTTWILLTOPIC", "CMQTTWILLMSG",
		"CMQTTSUBTOPIC", "CMQTTUNSUBTOPIC", "CCERTDOWN":
	case "CMQTTSUB", "CMQTTUNSUB":
		if len(params) < 3 {
			return 0
		}
	default:
		return 0
	}
	if len(params) < 2 {
		return 0
	}
	k, err := strconv.Atoi(strings.TrimSpace(params[1]))
	if err != nil || k < 0 {
		return 0
	}
	return k
}
