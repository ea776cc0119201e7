package queue

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFileReportsDamage: damage found on open reaches the application
// (FileOptions.OnDamage, File.Damage), not only the logger (issue 13.8):
// a corrupt record, a torn tail, a damaged header. The next open, after
// the rewrite, finds nothing more.
func TestFileReportsDamage(t *testing.T) {
	src := t.TempDir()
	seg := writeEntries(t, src, 3)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	second := int64(segmentHeaderSize) + putRecordSize(&Message{Topic: "0"})
	secondLen := int(putRecordSize(&Message{Topic: "1", Payload: []byte("x")}))
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
		want   Damage
	}{
		{"corrupt", func(b []byte) []byte { b[second+9] ^= 0x41; return b },
			Damage{Offset: second, Bytes: secondLen}},
		{"torn", func(b []byte) []byte { return b[:len(b)-3] },
			Damage{Offset: int64(len(data)) - putRecordSize(&Message{Topic: "2", Payload: []byte("xx")}), Bytes: int(putRecordSize(&Message{Topic: "2", Payload: []byte("xx")})) - 3, Torn: true}},
		{"header", func(b []byte) []byte { copy(b, "garbage!"); return b },
			Damage{Bytes: segmentHeaderSize, Header: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, filepath.Base(seg))
			if err := os.WriteFile(path, tc.damage(append([]byte{}, data...)), 0o600); err != nil {
				t.Fatal(err)
			}
			var reported []Damage
			opt := FileOptions{Logger: discardLogger(), OnDamage: func(d Damage) { reported = append(reported, d) }}
			q := openFile(t, dir, Limits{}, opt)
			want := tc.want
			want.File = path
			if len(reported) != 1 || reported[0] != want {
				t.Fatalf("reported %v, want %v", reported, want)
			}
			if got := q.Damage(); len(got) != 1 || got[0] != want {
				t.Fatalf("Damage() = %v, want %v", got, want)
			}
			if want.String() == "" {
				t.Error("empty String")
			}
			closeFile(t, q)
			reported = nil
			q = openFile(t, dir, Limits{}, opt)
			if len(reported) != 0 || len(q.Damage()) != 0 {
				t.Fatalf("after the rewrite: reported %v", reported)
			}
		})
	}
	q := openFile(t, t.TempDir(), Limits{}, FileOptions{})
	if d := q.Damage(); d != nil {
		t.Errorf("a new queue reports damage %v", d)
	}
}

func TestDamageString(t *testing.T) {
	for _, tc := range []struct {
		d    Damage
		want string
	}{
		{Damage{File: "a.seg", Offset: 20, Bytes: 30}, "corrupt record: 30 bytes at offset 20 of a.seg"},
		{Damage{File: "a.seg", Offset: 50, Bytes: 7, Torn: true}, "record cut short: 7 bytes at offset 50 of a.seg"},
		{Damage{File: "a.seg", Bytes: 20, Header: true}, "damaged segment header: 20 bytes at offset 0 of a.seg"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.d, got, tc.want)
		}
	}
}
