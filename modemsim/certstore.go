package modemsim

import (
	"bytes"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// certStore is the modem's flash file system for certificates and keys
// (AT+CCERTDOWN, AT+CCERTLIST, AT+CCERTDELE/AT+CCERTDELETE). It survives
// reboots, as flash does.
type certStore struct {
	mu    sync.Mutex
	files map[string][]byte
}

func newCertStore() *certStore { return &certStore{files: map[string][]byte{}} }

// get returns a copy of a file; it is linkConfig.Certs.
func (c *certStore) get(name string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.files[name]
	return bytes.Clone(b), ok
}

func (c *certStore) put(name string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[name] = bytes.Clone(data)
}

func (c *certStore) remove(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.files[name]
	delete(c.files, name)
	return ok
}

func (c *certStore) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.files))
	for n := range c.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// nonASCIIPrefix introduces a file name given as the hexadecimal of its
// UTF-8 bytes.
const nonASCIIPrefix = "{non-ascii}"

// certFileName applies the manual's file-name rules to a <filename>
// parameter: 5 to 128 bytes as written, a ".pem" or ".der" type, ASCII
// unless given as {non-ascii}<hex of the UTF-8 name>, no directories. It
// returns the name the file is stored under.
func certFileName(raw string) (string, bool) {
	if len(raw) < 5 || len(raw) > 128 {
		return "", false
	}
	name := raw
	if strings.HasPrefix(raw, nonASCIIPrefix) {
		b, err := hex.DecodeString(raw[len(nonASCIIPrefix):])
		if err != nil || !utf8.Valid(b) {
			return "", false
		}
		name = string(b)
	} else {
		for i := 0; i < len(raw); i++ {
			if raw[i] < 0x20 || raw[i] >= 0x7f {
				return "", false
			}
		}
	}
	if strings.ContainsAny(name, `/\`) {
		return "", false
	}
	lower := strings.ToLower(name)
	if !strings.HasSuffix(lower, ".pem") && !strings.HasSuffix(lower, ".der") || len(name) <= 4 {
		return "", false
	}
	return name, true
}
