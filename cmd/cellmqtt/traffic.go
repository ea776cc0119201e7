package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// trafficSummary counts what crossed the AT port in a transcript.
type trafficSummary struct {
	toModem, toHost int            // bytes each way
	dataBytes       int            // bytes written after data prompts (topics, payloads, certificates)
	commands        map[string]int // command name -> count, e.g. "AT+CMQTTPUB"
	urcs            map[string]int // unsolicited result names, e.g. "+CMQTTRXSTART"
}

// urcNames are the unsolicited messages the summary counts.
var urcNames = []string{"+CMQTTRXSTART", "+CMQTTCONNLOST", "+CMQTTNONET", "+CMQTTPING"}

// dataLength returns how many bytes the host writes after the prompt of
// cmd, or 0 when cmd takes no data.
func dataLength(cmd string) int {
	c := strings.ToUpper(cmd)
	name, args, ok := strings.Cut(strings.TrimPrefix(c, "AT+"), "=")
	if !ok || args == "?" {
		return 0
	}
	params := strings.Split(args, ",")
	num := func(i int) int {
		if i < 0 || i >= len(params) {
			return 0
		}
		n, err := strconv.Atoi(strings.TrimSpace(params[i]))
		if err != nil {
			return 0
		}
		return n
	}
	switch name {
	case "CMQTTTOPIC", "CMQTTPAYLOAD", "CMQTTWILLTOPIC", "CMQTTWILLMSG", "CMQTTSUBTOPIC", "CMQTTUNSUBTOPIC":
		return num(1)
	case "CMQTTSUB", "CMQTTUNSUB": // the single-topic forms carry the topic: i,len,qos / i,len,dup
		if len(params) == 3 {
			return num(1)
		}
	case "CCERTDOWN":
		return num(len(params) - 1)
	}
	return 0
}

// summarize reads each direction of the transcript on its own (the two
// directions' timestamps do not order a prompt against the data that
// answers it). Command lines are what the host wrote up to CR; after a
// command that announces data (AT+CMQTTTOPIC=0,5 ...) the next bytes of
// that length are data, not commands: the client writes them once the
// prompt came. Received topics and payloads (+CMQTTRXTOPIC,
// +CMQTTRXPAYLOAD) are skipped by length, so a payload that looks like a
// URC is not counted as one.
func summarize(entries []modemsim.TranscriptEntry) trafficSummary {
	s := trafficSummary{commands: map[string]int{}, urcs: map[string]int{}}
	var (
		hostLine, modemLine []byte
		hostSkip, modemSkip int
	)
	for _, e := range entries {
		switch e.Dir {
		case modemsim.ToModem:
			s.toModem += len(e.Data)
			for _, b := range e.Data {
				switch {
				case hostSkip > 0:
					hostSkip--
					s.dataBytes++
				case b == '\r':
					line := strings.TrimSpace(string(hostLine))
					hostLine = hostLine[:0]
					if len(line) >= 2 && strings.EqualFold(line[:2], "AT") {
						name := strings.ToUpper(line)
						if i := strings.IndexAny(name, "=?"); i >= 0 {
							name = name[:i]
						}
						s.commands[name]++
						hostSkip = dataLength(line)
					}
				case b != '\n':
					hostLine = append(hostLine, b)
				}
			}
		case modemsim.ToHost:
			s.toHost += len(e.Data)
			for _, b := range e.Data {
				if modemSkip > 0 {
					modemSkip--
					continue
				}
				if b != '\n' {
					modemLine = append(modemLine, b)
					continue
				}
				line := strings.Trim(string(modemLine), "\r\x00 ")
				modemLine = modemLine[:0]
				for _, u := range urcNames {
					if strings.HasPrefix(line, u) {
						s.urcs[u]++
					}
				}
				if strings.HasPrefix(line, "+CMQTTRXTOPIC:") || strings.HasPrefix(line, "+CMQTTRXPAYLOAD:") {
					if n, ok := resultCodeOf(line); ok {
						modemSkip = n
					}
				}
			}
		}
	}
	return s
}

// printTraffic prints the summary of a transcript.
func printTraffic(w io.Writer, entries []modemsim.TranscriptEntry) {
	s := summarize(entries)
	total := 0
	names := make([]string, 0, len(s.commands))
	for n, c := range s.commands {
		names = append(names, n)
		total += c
	}
	sort.Slice(names, func(i, j int) bool {
		if s.commands[names[i]] != s.commands[names[j]] {
			return s.commands[names[i]] > s.commands[names[j]]
		}
		return names[i] < names[j]
	})
	fmt.Fprintf(w, "AT traffic: %d commands, %d bytes host->modem (%d of them topic/payload data), %d bytes modem->host\n", total, s.toModem, s.dataBytes, s.toHost)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s x%d", n, s.commands[n]))
	}
	fmt.Fprintf(w, "  commands:    %s\n", strings.Join(parts, ", "))
	parts = parts[:0]
	for _, u := range urcNames {
		if s.urcs[u] > 0 {
			parts = append(parts, fmt.Sprintf("%s x%d", u, s.urcs[u]))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "  unsolicited: %s\n", strings.Join(parts, ", "))
	}
}
