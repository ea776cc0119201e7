package bridge

import (
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		args    string
		want    Rule
		wantErr string
	}{
		{args: "sensors/#", want: Rule{Pattern: "sensors/#", Direction: Out}},
		{args: "sensors/# out 1", want: Rule{Pattern: "sensors/#", Direction: Out, QoS: 1}},
		{args: "cmd/# in 2", want: Rule{Pattern: "cmd/#", Direction: In, QoS: 2}},
		{args: "a/+ BOTH 0", want: Rule{Pattern: "a/+", Direction: Both}},
		{args: "# both 2 local/topic/ remote/topic/", want: Rule{Pattern: "#", Direction: Both, QoS: 2, LocalPrefix: "local/topic/", RemotePrefix: "remote/topic/"}},
		{args: `clients/total in 0 test/mosquitto/org/ $SYS/broker/`, want: Rule{Pattern: "clients/total", Direction: In, LocalPrefix: "test/mosquitto/org/", RemotePrefix: "$SYS/broker/"}},
		{args: `pattern out 0 L/ ""`, want: Rule{Pattern: "pattern", Direction: Out, LocalPrefix: "L/"}},
		{args: `pattern out 0 "" R/`, want: Rule{Pattern: "pattern", Direction: Out, RemotePrefix: "R/"}},
		{args: `pattern out 0 "" ""`, want: Rule{Pattern: "pattern", Direction: Out}},
		{args: `"" out 0 local remote`, want: Rule{Pattern: "", Direction: Out, LocalPrefix: "local", RemotePrefix: "remote"}},
		{args: "a/b out 1 # a comment", want: Rule{Pattern: "a/b", Direction: Out, QoS: 1}},
		{args: `"" out 0 local ""`, wantErr: "empty pattern"},
		{args: `"" out 0 "" remote`, wantErr: "empty pattern"},
		{args: `"" out 0 "" ""`, wantErr: "empty pattern"},
		{args: `""`, wantErr: "empty pattern"},
		{args: "", wantErr: "empty topic value"},
		{args: "a sideways", wantErr: `invalid direction "sideways"`},
		{args: "a out 3", wantErr: `invalid QoS level "3"`},
		{args: "a out x", wantErr: `invalid QoS level "x"`},
		{args: "a out 1 l/+/ r/", wantErr: "local prefix"},
		{args: "a out 1 l/ r/#", wantErr: "remote prefix"},
		{args: "a/#/b out 1", wantErr: "'#' only the last"},
		{args: "a# out 1", wantErr: "whole level"},
		{args: "a out 1 l/ r/ extra", wantErr: "at most"},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			got, err := ParseRule(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRule(%q) = %+v, %v; want an error containing %q", tc.args, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseRule(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
			}
			// The String form parses back to the same rule.
			back, err := ParseRule(got.String())
			if err != nil || back != got {
				t.Fatalf("ParseRule(%q) = %+v, %v; want %+v", got.String(), back, err, got)
			}
		})
	}
}

// TestRemap follows the table of mosquitto.conf(5) ("Full Local Topic",
// "Full Remote Topic") and mosquitto's first-matching-prefixed-rule order.
func TestRemap(t *testing.T) {
	rules := func(lines ...string) []Rule {
		var rs []Rule
		for _, l := range lines {
			r, err := ParseRule(l)
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		return rs
	}
	tests := []struct {
		name          string
		rules         []Rule
		local, remote string
	}{
		{"L/ R/", rules("pattern both 0 L/ R/"), "L/pattern", "R/pattern"},
		{`L/ ""`, rules(`pattern both 0 L/ ""`), "L/pattern", "pattern"},
		{`"" R/`, rules(`pattern both 0 "" R/`), "pattern", "R/pattern"},
		{`"" ""`, rules(`pattern both 0 "" ""`), "pattern", "pattern"},
		{"single topic", rules(`"" both 0 local remote`), "local", "remote"},
		{"tree", rules("# both 2 local/topic/ remote/topic/"), "local/topic/a/b", "remote/topic/a/b"},
		{"no prefix", rules("a/# both 1"), "a/b", "a/b"},
		{"first prefixed rule wins", rules("x/# both 0", "# both 0 l/ r1/", "# both 0 l/ r2/"), "l/x/y", "r1/x/y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := remapOut(tc.rules, tc.local); got != tc.remote {
				t.Errorf("remapOut(%q) = %q, want %q", tc.local, got, tc.remote)
			}
			if got := remapIn(tc.rules, tc.remote); got != tc.local {
				t.Errorf("remapIn(%q) = %q, want %q", tc.remote, got, tc.local)
			}
		})
	}
}

func TestOutInQoS(t *testing.T) {
	var rs []Rule
	for _, l := range []string{"a/# out 1", "a/b out 2", "c/# in 1", "c/d in 0", "e/# both 2 l/ r/"} {
		r, err := ParseRule(l)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	outs := []struct {
		topic   string
		msgQoS  byte
		wantQoS byte
		wantOut bool
	}{
		{"a/x", 2, 1, true},
		{"a/b", 2, 2, true},
		{"a/b", 1, 1, true},
		{"a/x", 0, 0, true},
		{"c/d", 1, 0, false},
		{"l/e/x", 2, 2, true},
		{"e/x", 2, 0, false},
		{"$SYS/a", 1, 0, false},
	}
	for _, o := range outs {
		q, ok := outQoS(rs, o.topic, o.msgQoS)
		if q != o.wantQoS || ok != o.wantOut {
			t.Errorf("outQoS(%q, %d) = %d, %v; want %d, %v", o.topic, o.msgQoS, q, ok, o.wantQoS, o.wantOut)
		}
	}
	ins := []struct {
		topic string
		want  byte
	}{{"c/x", 1}, {"c/d", 1}, {"r/e/1", 2}, {"a/b", 0}, {"zz", 0}}
	for _, i := range ins {
		if got := inQoS(rs, i.topic); got != i.want {
			t.Errorf("inQoS(%q) = %d, want %d", i.topic, got, i.want)
		}
	}
}
