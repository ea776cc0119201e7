package atmodem

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// frameStrings frames input fed in the given pieces and returns the frames
// as "L:<line>", "P" and "D:<data>". prompt answers the framer's question
// whether a '>' is a prompt (nil: never).
func frameStrings(pieces [][]byte, prompt func() ([]byte, bool)) []string {
	var f framer
	f.init(prompt)
	var out []string
	emit := func(fr frame) {
		switch fr.kind {
		case frameLine:
			out = append(out, "L:"+string(fr.line))
		case framePrompt:
			out = append(out, "P")
		case frameData:
			out = append(out, "D:"+string(fr.data))
		}
	}
	for _, p := range pieces {
		f.feed(p, emit)
	}
	return out
}

// splits returns input whole, cut at every byte boundary into two pieces,
// and one byte per piece.
func splits(input []byte) [][][]byte {
	out := [][][]byte{{input}}
	for i := 1; i < len(input); i++ {
		out = append(out, [][]byte{input[:i], input[i:]})
	}
	var bytewise [][]byte
	for i := range input {
		bytewise = append(bytewise, input[i:i+1])
	}
	return append(out, bytewise)
}

func TestFramer(t *testing.T) {
	always := func() ([]byte, bool) { return nil, true }
	echo := func(data string) func() ([]byte, bool) {
		return func() ([]byte, bool) { return []byte(data), true }
	}
	tests := []struct {
		name   string
		input  string
		prompt func() ([]byte, bool)
		want   []string
	}{
		{"CRLF lines", "\r\nOK\r\n", nil, []string{"L:OK"}},
		{"lone CR and LF", "A\rB\nC\r\n\n\rD\r", nil, []string{"L:A", "L:B", "L:C", "L:D"}},
		{"empty lines skipped", "\r\n\r\n\r\n+CSQ: 1,2\r\n\r\n\r\nOK\r\n", nil, []string{"L:+CSQ: 1,2", "L:OK"}},
		{"NUL before RDY", "\x00\x00\r\nRDY\r\n", nil, []string{"L:RDY"}},
		{"NUL inside line", "O\x00K\r\n", nil, []string{"L:OK"}},
		{"echo line", "AT+CSQ\r\r\n+CSQ: 1,2\r\n\r\nOK\r\n", nil, []string{"L:AT+CSQ", "L:+CSQ: 1,2", "L:OK"}},
		{"prompt CRLF >", "\r\n>", always, []string{"P"}},
		{"prompt > space then answer", "\r\n> \r\nOK\r\n", always, []string{"P", "L:OK"}},
		{"> not wanted is text", "\r\n>x\r\n", nil, []string{"L:>x"}},
		{"> inside a line is text", "a>b\r\n", always, []string{"L:a>b"}},
		{"data echo skipped", "\r\n>a/b\r\nOK\r\n", echo("a/b"), []string{"P", "L:OK"}},
		{"data echo after space", "\r\n> a/b\r\n\r\nOK\r\n", echo("a/b"), []string{"P", "L:OK"}},
		{"no data echo", "\r\n>\r\nOK\r\n", echo("a/b"), []string{"P", "L:OK"}},
		{"partial echo then answer", "\r\n>a/\r\nERROR\r\n", echo("a/b"), []string{"P", "L:a/", "L:ERROR"}},
		{"rx topic data", "\r\n+CMQTTRXTOPIC: 0,9\r\nsimcommsg\r\n+CMQTTRXEND: 0\r\n", nil,
			[]string{"L:+CMQTTRXTOPIC: 0,9", "D:simcommsg", "L:+CMQTTRXEND: 0"}},
		{"rx data without CRLF after", "+CMQTTRXPAYLOAD: 0,2\r\nOK+CMQTTRXEND: 0\r\n", nil,
			[]string{"L:+CMQTTRXPAYLOAD: 0,2", "D:OK", "L:+CMQTTRXEND: 0"}},
		{"rx binary data", "+CMQTTRXPAYLOAD: 1,18\r\n\r\nOK\r\nERROR\x00>\r\n+CM\r\n\r\nOK\r\n", always,
			[]string{"L:+CMQTTRXPAYLOAD: 1,18", "D:\r\nOK\r\nERROR\x00>\r\n+CM", "L:OK"}},
		{"rx data starting with LF", "+CMQTTRXPAYLOAD: 0,2\r\n\n\n\r\n", nil, []string{"L:+CMQTTRXPAYLOAD: 0,2", "D:\n\n"}},
		{"rx header ended by LF only", "+CMQTTRXPAYLOAD: 0,3\nabc", nil, []string{"L:+CMQTTRXPAYLOAD: 0,3", "D:abc"}},
		{"rx zero length", "+CMQTTRXPAYLOAD: 0,0\r\n+CMQTTRXEND: 0\r\n", nil,
			[]string{"L:+CMQTTRXPAYLOAD: 0,0", "D:", "L:+CMQTTRXEND: 0"}},
		{"rx length over limit is a line", "+CMQTTRXPAYLOAD: 0,99999\r\nOK\r\n", nil,
			[]string{"L:+CMQTTRXPAYLOAD: 0,99999", "L:OK"}},
		{"garbage between frames", "\xff\xfe\r\nOK\r\n\x1b[\r\n+CMQTTNONET\r\n", nil, []string{"L:\xff\xfe", "L:OK", "L:\x1b[", "L:+CMQTTNONET"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, pieces := range splits([]byte(tc.input)) {
				// A prompt is wanted once per command.
				prompt := tc.prompt
				if prompt != nil {
					used := false
					inner := prompt
					prompt = func() ([]byte, bool) {
						if used {
							return nil, false
						}
						used = true
						return inner()
					}
				}
				if got := frameStrings(pieces, prompt); !slices.Equal(got, tc.want) {
					t.Fatalf("pieces %q: frames %q, want %q", pieces, got, tc.want)
				}
			}
		})
	}
}

func TestFramerLongLineDropped(t *testing.T) {
	input := strings.Repeat("x", maxLineLen+10) + "\r\nOK\r\n"
	for _, pieces := range [][][]byte{{[]byte(input)}, splits([]byte(input))[len(input)]} {
		got := frameStrings(pieces, nil)
		if !slices.Equal(got, []string{"L:OK"}) {
			t.Fatalf("frames %d: last %q", len(got), got[len(got)-1])
		}
	}
	var f framer
	f.init(nil)
	f.feed(bytes.Repeat([]byte("y"), 10*maxLineLen), func(frame) {})
	if len(f.line) > maxLineLen || cap(f.line) > 2*maxLineLen {
		t.Errorf("line buffer grew to len %d cap %d", len(f.line), cap(f.line))
	}
}

func TestFramerLargePayloadChunks(t *testing.T) {
	payload := make([]byte, 10240)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	var stream bytes.Buffer
	for off := 0; off < len(payload); off += 1500 {
		chunk := payload[off:min(off+1500, len(payload))]
		stream.WriteString("\r\n+CMQTTRXPAYLOAD: 0," + strconv.Itoa(len(chunk)) + "\r\n")
		stream.Write(chunk)
	}
	stream.WriteString("\r\n+CMQTTRXEND: 0\r\n")
	for _, size := range []int{1, 7, 1500, 4096, stream.Len()} {
		var pieces [][]byte
		b := stream.Bytes()
		for len(b) > 0 {
			n := min(size, len(b))
			pieces = append(pieces, b[:n])
			b = b[n:]
		}
		var got []byte
		for _, fr := range frameStrings(pieces, nil) {
			if d, ok := strings.CutPrefix(fr, "D:"); ok {
				got = append(got, d...)
			}
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("read size %d: payload differs (%d bytes)", size, len(got))
		}
	}
}
