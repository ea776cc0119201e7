package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// flagSet is the small flag layer every subcommand uses. It wraps the
// standard flag package so that one flag can have several spellings
// (mosquitto's "-t" and "--topic"), both "-x" and "--x" work, flags and
// positional arguments can be mixed in any order, and "--help" / "-help"
// print a help text with examples while "-h" stays free for the broker host
// (as in mosquitto_pub).
type flagSet struct {
	fs       *flag.FlagSet
	name     string   // subcommand name, e.g. "pub"
	synopsis string   // e.g. "cellmqtt pub -t TOPIC -m MESSAGE [flags]"
	about    string   // paragraph(s) after the synopsis
	examples []string // shell lines, each shown with a leading "$ "
	entries  []flagEntry
	byName   map[string]int // spelling -> index in entries
	refused  error          // a not-applicable flag was given (NotApplicable)
}

// flagEntry documents one flag with all its spellings.
type flagEntry struct {
	names []string // e.g. ["t", "topic"]
	arg   string   // value placeholder, e.g. "TOPIC"; empty for booleans
	usage string
	group string // heading the flag is listed under
}

// newFlagSet returns a flag layer for the subcommand name.
func newFlagSet(name, synopsis, about string) *flagSet {
	fs := flag.NewFlagSet("cellmqtt "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{fs: fs, name: name, synopsis: synopsis, about: about, byName: map[string]int{}}
}

// example adds a shell example to the help text.
func (f *flagSet) example(lines ...string) { f.examples = append(f.examples, lines...) }

// add documents a flag and binds each of its spellings with bind.
func (f *flagSet) add(names, arg, usage, group string, bind func(name string)) {
	e := flagEntry{names: strings.Split(names, ","), arg: arg, usage: usage, group: group}
	for _, n := range e.names {
		bind(n)
	}
	f.entries = append(f.entries, e)
	for _, n := range e.names {
		f.byName[n] = len(f.entries) - 1
	}
}

// String registers a string flag under every comma-separated name.
func (f *flagSet) String(p *string, names, arg, def, group, usage string) {
	*p = def
	f.add(names, arg, usage, group, func(n string) { f.fs.StringVar(p, n, def, usage) })
}

// Int registers an int flag under every comma-separated name.
func (f *flagSet) Int(p *int, names, arg string, def int, group, usage string) {
	*p = def
	f.add(names, arg, usage, group, func(n string) { f.fs.IntVar(p, n, def, usage) })
}

// Bool registers a boolean flag under every comma-separated name.
func (f *flagSet) Bool(p *bool, names string, group, usage string) {
	f.add(names, "", usage, group, func(n string) { f.fs.BoolVar(p, n, false, usage) })
}

// Seconds registers a duration flag given in whole seconds (mosquitto's
// style, "-k 60") that also accepts Go durations ("90s", "2m").
func (f *flagSet) Seconds(p *time.Duration, names, arg string, def time.Duration, group, usage string) {
	*p = def
	f.add(names, arg, usage, group, func(n string) { f.fs.Var((*secondsValue)(p), n, usage) })
}

// Var registers any flag.Value under every comma-separated name.
func (f *flagSet) Var(v flag.Value, names, arg, group, usage string) {
	f.add(names, arg, usage, group, func(n string) { f.fs.Var(v, n, usage) })
}

// naGroup is the help heading of the flags that do not apply to a modem.
const naGroup = "Not applicable to a modem (refused, with the reason)"

// NotApplicable registers mosquitto flags that have no meaning for a
// modem: giving one is a usage error that says why, instead of "flag
// provided but not defined". arg is "" for a boolean flag.
func (f *flagSet) NotApplicable(names, arg, reason string) {
	v := &refusedValue{f: f, reason: reason, boolean: arg == ""}
	f.add(names, arg, reason, naGroup, func(n string) {
		v := *v
		v.name = n
		f.fs.Var(&v, n, reason)
	})
}

// refusedValue is a not-applicable flag: setting it records the refusal.
type refusedValue struct {
	f       *flagSet
	name    string
	reason  string
	boolean bool
}

// String is empty: the flag has no value.
func (v *refusedValue) String() string { return "" }

// IsBoolFlag lets a boolean refused flag be given without a value.
func (v *refusedValue) IsBoolFlag() bool { return v.boolean }

// Set records the refusal; parse reports it.
func (v *refusedValue) Set(string) error {
	if v.f.refused == nil {
		v.f.refused = fmt.Errorf("%s does not apply to a modem: %s", dashed(v.name), v.reason)
	}
	return nil
}

// dashed spells a flag name as a user types it: -x or --name.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// typedSpelling finds how the user typed the flag name in args ("--repeat"
// or "-repeat"), for error messages; dashed(name) when not found.
func typedSpelling(args []string, name string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		spelled, _, _ := strings.Cut(a, "=")
		if strings.TrimLeft(spelled, "-") == name && strings.HasPrefix(spelled, "-") {
			return spelled
		}
	}
	return dashed(name)
}

// isSet reports whether any spelling of the flag was given.
func (f *flagSet) isSet(name string) bool {
	i, ok := f.byName[name]
	if !ok {
		return false
	}
	e := f.entries[i]
	set := false
	f.fs.Visit(func(fl *flag.Flag) {
		for _, n := range e.names {
			if fl.Name == n {
				set = true
			}
		}
	})
	return set
}

// errHelp is returned by parse when the help text was asked for and printed.
var errHelp = errors.New("help requested")

// parse parses args, allowing flags after positional arguments ("cellmqtt at
// AT+CSQ --sim"); everything after "--" is positional. On "--help" it prints
// the help text to stdout and returns errHelp; on a bad flag it prints the
// error and a hint to stderr and returns the error.
func (f *flagSet) parse(args []string, stdout, stderr io.Writer) ([]string, error) {
	var positional []string
	all := args
	for {
		err := f.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.printHelp(stdout)
			return nil, errHelp
		}
		if err == nil && f.refused != nil {
			err = f.refused
		}
		if err != nil {
			msg := err.Error()
			// The flag package names an unknown flag with one dash
			// whatever was typed: name it as the user typed it.
			if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
				msg = "unknown flag " + typedSpelling(all, name)
			}
			fmt.Fprintf(stderr, "cellmqtt %s: %s\nRun \"cellmqtt %s --help\" for usage.\n", f.name, msg, f.name)
			return nil, err
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// flag stops at the first non-flag argument or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError prints a usage error for the subcommand and returns exitUsage.
func (f *flagSet) usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "cellmqtt %s: %s\nRun \"cellmqtt %s --help\" for usage.\n", f.name, fmt.Sprintf(format, args...), f.name)
	return exitUsage
}

// printHelp writes the synopsis, description, flags by group and examples.
func (f *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", f.synopsis, strings.TrimSpace(f.about))
	var groups []string
	seen := map[string]bool{}
	for _, e := range f.entries {
		if !seen[e.group] {
			seen[e.group] = true
			groups = append(groups, e.group)
		}
	}
	for _, g := range groups {
		fmt.Fprintf(w, "\n%s:\n", g)
		for _, e := range f.entries {
			if e.group != g {
				continue
			}
			spell := make([]string, len(e.names))
			for i, n := range e.names {
				spell[i] = dashed(n)
			}
			head := strings.Join(spell, ", ")
			if e.arg != "" {
				head += " " + e.arg
			}
			if def := f.fs.Lookup(e.names[0]).DefValue; def != "" && def != "0" && def != "-1" && def != "false" && def != "0s" {
				fmt.Fprintf(w, "  %-26s %s (default %s)\n", head, e.usage, def)
			} else {
				fmt.Fprintf(w, "  %-26s %s\n", head, e.usage)
			}
		}
	}
	if len(f.examples) > 0 {
		fmt.Fprintln(w, "\nExamples:")
		for _, ex := range f.examples {
			fmt.Fprintf(w, "  $ %s\n", ex)
		}
	}
}

// secondsValue is a time.Duration flag written as whole seconds or as a Go
// duration.
type secondsValue time.Duration

// String prints whole seconds, or a Go duration.
func (s *secondsValue) String() string {
	if s == nil || *s == 0 {
		return "0"
	}
	d := time.Duration(*s)
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10)
	}
	return d.String()
}

// Set parses seconds ("60", "1.5") or a Go duration ("90s").
func (s *secondsValue) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return errors.New("must not be negative")
		}
		*s = secondsValue(time.Duration(n * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want seconds (e.g. 60) or a duration (e.g. 90s)")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*s = secondsValue(d)
	return nil
}

// stringList is a repeatable string flag ("-t a -t b").
type stringList []string

// String joins the values with commas.
func (l *stringList) String() string { return strings.Join(*l, ",") }

// Set appends one value.
func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
