package listener_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cellmqtt/cellmqtt/internal/listener"
)

// A listener on every interface needs credentials or TLS; with a mosquitto
// password file it authenticates each client's CONNECT.
func Example() {
	dir, _ := os.MkdirTemp("", "listener")
	defer os.RemoveAll(dir)
	pw := filepath.Join(dir, "passwd")
	// Written by "mosquitto_passwd -c -b passwd alice secret".
	_ = os.WriteFile(pw, []byte("alice:$7$101$gZhUsrcr3KT3idoO$5Xgruvei2CfdcVRQ/PQggFe0KDiEZo77zOhLJGkXh4uVXe7FA0xj9MNWeFaGaNVoYoP7x4Z8ZRGLoeZ7o9VNyg==\n"), 0o600)

	fmt.Println(listener.Config{Addr: "0.0.0.0:1883"}.Check() != nil)

	cfg := listener.Config{Addr: "127.0.0.1:0", PasswordFile: pw}
	auth, err := cfg.Authenticator()
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := cfg.Listen(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	fmt.Println(auth.Authenticate("alice", []byte("secret")))
	fmt.Println(auth.Authenticate("alice", []byte("guess")))
	fmt.Println(auth.Authenticate("", nil))
	// Output:
	// true
	// <nil>
	// listener: bad user name or password
	// listener: credentials required
}
