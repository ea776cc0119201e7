package listener

import (
	"crypto/subtle"
	"errors"
)

// Errors of Authenticate, matched with errors.Is. An MQTT server answers
// the first with "not authorized" (3.1.1 return code 5, MQTT 5 0x87) and
// the second with "bad user name or password" (4, 0x86).
var (
	// ErrNoCredentials: the client gave no user name.
	ErrNoCredentials = errors.New("listener: credentials required")
	// ErrBadCredentials: unknown user or wrong password.
	ErrBadCredentials = errors.New("listener: bad user name or password")
)

// Authenticator checks the credentials local clients give in their
// CONNECT. A nil *Authenticator accepts everyone.
type Authenticator struct {
	file           *PasswordFile // nil: no password file
	user, password string        // "": no plain user
}

// Authenticate returns nil when username and password are those of the
// plain user or of a user of the password file, ErrNoCredentials when
// username is empty and ErrBadCredentials otherwise.
func (a *Authenticator) Authenticate(username string, password []byte) error {
	if a == nil {
		return nil
	}
	if username == "" {
		return ErrNoCredentials
	}
	if a.user != "" && subtle.ConstantTimeCompare([]byte(username), []byte(a.user)) == 1 &&
		subtle.ConstantTimeCompare(password, []byte(a.password)) == 1 {
		return nil
	}
	if a.file != nil && a.file.Verify(username, string(password)) {
		return nil
	}
	return ErrBadCredentials
}
