package listener

import (
	"bufio"
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PasswordFile is a mosquitto password_file read into memory: user names
// with their password hashes, in the two formats mosquitto_passwd writes.
type PasswordFile struct {
	users map[string]passwordHash
}

// passwordHash is one user's hash.
type passwordHash struct {
	pbkdf2     bool // $7$; otherwise $6$
	iterations int
	salt, hash []byte
}

// maxIterations bounds the PBKDF2 iterations a password file may ask for,
// so a damaged file cannot make every CONNECT take minutes (mosquitto_passwd
// writes 101).
const maxIterations = 1_000_000

// ReadPasswordFile reads a mosquitto password_file: one "user:hash" a line,
// where hash is "$7$iterations$salt$hash" (PBKDF2-HMAC-SHA512, mosquitto
// 2.0's default) or "$6$salt$hash" (SHA-512 of the password followed by the
// salt, mosquitto 1.x), salt and hash in base64. Empty lines and lines
// starting with '#' are skipped. A line in any other form, such as a
// plain-text password, is an error naming the file and line.
func ReadPasswordFile(path string) (*PasswordFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("listener: password file: %w", err)
	}
	pf, err := ParsePasswordFile(data)
	if err != nil {
		return nil, fmt.Errorf("listener: password file %s: %w", path, err)
	}
	return pf, nil
}

// ParsePasswordFile parses the contents of a password file; see
// ReadPasswordFile.
func ParsePasswordFile(data []byte) (*PasswordFile, error) {
	pf := &PasswordFile{users: map[string]passwordHash{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("%w: line %d: want user:hash", ErrConfig, n)
		}
		h, err := parseHash(hash)
		if err != nil {
			// The error names the line, never its contents: it may hold a
			// plain-text password.
			return nil, fmt.Errorf("%w: line %d (user %q): %w", ErrConfig, n, user, err)
		}
		pf.users[user] = h
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return pf, nil
}

// parseHash parses "$7$iterations$salt$hash" or "$6$salt$hash".
func parseHash(s string) (passwordHash, error) {
	f := strings.Split(s, "$")
	var h passwordHash
	var salt, hash string
	switch {
	case len(f) == 5 && f[0] == "" && f[1] == "7":
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 1 || n > maxIterations {
			return h, fmt.Errorf("PBKDF2 iterations %q: want 1-%d", f[2], maxIterations)
		}
		h.pbkdf2, h.iterations = true, n
		salt, hash = f[3], f[4]
	case len(f) == 4 && f[0] == "" && f[1] == "6":
		salt, hash = f[2], f[3]
	default:
		return h, fmt.Errorf("not a mosquitto_passwd hash ($7$ or $6$); plain-text passwords are not accepted (hash them with mosquitto_passwd -U)")
	}
	var err error
	if h.salt, err = base64.StdEncoding.DecodeString(salt); err != nil || len(h.salt) == 0 {
		return h, fmt.Errorf("salt is not base64")
	}
	if h.hash, err = base64.StdEncoding.DecodeString(hash); err != nil || len(h.hash) != sha512.Size {
		return h, fmt.Errorf("hash is not a base64 SHA-512 digest")
	}
	return h, nil
}

// Users returns the number of users in the file.
func (pf *PasswordFile) Users() int { return len(pf.users) }

// Verify reports whether password is the password of user.
func (pf *PasswordFile) Verify(user, password string) bool {
	h, ok := pf.users[user]
	if !ok {
		return false
	}
	return h.matches(password)
}

// matches compares the hash of password with h in constant time.
func (h passwordHash) matches(password string) bool {
	var sum []byte
	if h.pbkdf2 {
		var err error
		sum, err = pbkdf2.Key(sha512.New, password, h.salt, h.iterations, len(h.hash))
		if err != nil {
			return false
		}
	} else {
		d := sha512.New()
		d.Write([]byte(password))
		d.Write(h.salt)
		sum = d.Sum(nil)
	}
	return subtle.ConstantTimeCompare(sum, h.hash) == 1
}
