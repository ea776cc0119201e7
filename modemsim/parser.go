package modemsim

import (
	"errors"
	"strconv"
	"strings"
)

// cmdForm is the form of an AT command: execute, test (=?), read (?) or
// write (=...).
type cmdForm int

const (
	formExec cmdForm = iota
	formTest
	formRead
	formWrite
)

// atParam is one parameter of a write command. Quoted parameters keep
// their text as written between the double quotes (the firmware has no
// escapes); unquoted ones are trimmed of spaces.
type atParam struct {
	Text   string
	Quoted bool
}

// empty reports whether the parameter was left out ("AT+X=1,,2").
func (p atParam) empty() bool { return !p.Quoted && p.Text == "" }

// int returns the parameter as a decimal number; ok is false for quoted,
// empty, signed or non-numeric text and for values beyond 9 digits.
func (p atParam) int() (int, bool) {
	if p.Quoted || p.Text == "" || len(p.Text) > 9 {
		return 0, false
	}
	for i := 0; i < len(p.Text); i++ {
		if p.Text[i] < '0' || p.Text[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(p.Text)
	return n, err == nil
}

// atCommand is one parsed command line.
type atCommand struct {
	// Name is upper case: "" for a bare AT, "+CMQTTACCQ" for extended
	// commands, "E", "I", "Z", "&F" ... for basic ones.
	Name   string
	Form   cmdForm
	Params []atParam
}

// Parser errors.
var (
	errNotAT  = errors.New("modemsim: line does not start with AT")
	errSyntax = errors.New("modemsim: AT syntax error")
)

// parseCommandLine parses one command line (without its CR) the way the
// firmware does: the "AT" prefix and command names in any case, spaces
// around names, '=', '?' and parameters ignored, parameters separated by
// commas, strings in double quotes (no escapes, case kept). Basic commands
// take an optional decimal argument (ATE0, ATI). Concatenated commands (';')
// are not supported, as on the MQTT firmware's parser.
func parseCommandLine(line string) (atCommand, error) {
	s := strings.TrimSpace(line)
	if len(s) < 2 || !strings.EqualFold(s[:2], "AT") {
		return atCommand{}, errNotAT
	}
	s = strings.TrimLeft(s[2:], " ")
	if s == "" {
		return atCommand{}, nil
	}
	if s[0] == '+' || s[0] == '*' || s[0] == '$' {
		return parseExtended(s)
	}
	return parseBasic(s)
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func isNameByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

func parseExtended(s string) (atCommand, error) {
	i := 1
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == 1 {
		return atCommand{}, errSyntax
	}
	c := atCommand{Name: strings.ToUpper(s[:i])}
	rest := strings.TrimSpace(s[i:])
	switch {
	case rest == "":
		c.Form = formExec
	case rest == "?":
		c.Form = formRead
	case rest[0] == '=':
		args := strings.TrimSpace(rest[1:])
		if args == "?" {
			c.Form = formTest
			return c, nil
		}
		c.Form = formWrite
		params, err := parseParams(args)
		if err != nil {
			return atCommand{}, err
		}
		c.Params = params
	default:
		return atCommand{}, errSyntax
	}
	return c, nil
}

func parseBasic(s string) (atCommand, error) {
	var name string
	switch {
	case s[0] == '&' && len(s) >= 2 && isLetter(s[1]):
		name = "&" + strings.ToUpper(s[1:2])
		s = s[2:]
	case isLetter(s[0]):
		name = strings.ToUpper(s[:1])
		s = s[1:]
	default:
		return atCommand{}, errSyntax
	}
	c := atCommand{Name: name}
	s = strings.TrimSpace(s)
	if s == "" {
		return c, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return atCommand{}, errSyntax
		}
	}
	c.Params = []atParam{{Text: s}}
	return c, nil
}

// parseParams splits the text after '=' into parameters.
func parseParams(s string) ([]atParam, error) {
	if s == "" {
		return nil, nil
	}
	var out []atParam
	for {
		s = strings.TrimLeft(s, " ")
		var p atParam
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, errSyntax
			}
			p = atParam{Text: s[1 : 1+end], Quoted: true}
			s = strings.TrimLeft(s[2+end:], " ")
			if s != "" && s[0] != ',' {
				return nil, errSyntax
			}
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			text := strings.TrimSpace(s[:end])
			if strings.ContainsRune(text, '"') {
				return nil, errSyntax
			}
			p = atParam{Text: text}
			s = s[end:]
		}
		out = append(out, p)
		if s == "" {
			return out, nil
		}
		s = s[1:] // the comma
	}
}

// String formats the command back into a command line (without CR); parsing
// the result gives the same command.
func (c atCommand) String() string {
	var b strings.Builder
	b.WriteString("AT")
	b.WriteString(c.Name)
	switch c.Form {
	case formTest:
		b.WriteString("=?")
	case formRead:
		b.WriteString("?")
	case formWrite:
		b.WriteString("=")
		for i, p := range c.Params {
			if i > 0 {
				b.WriteByte(',')
			}
			if p.Quoted {
				b.WriteByte('"')
				b.WriteString(p.Text)
				b.WriteByte('"')
			} else {
				b.WriteString(p.Text)
			}
		}
	default:
		for _, p := range c.Params {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}
