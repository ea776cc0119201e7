package listener

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error // nil, ErrConfig or ErrInsecure
	}{
		{"loopback v4", Config{Addr: "127.0.0.1:1883"}, nil},
		{"loopback v4 other", Config{Addr: "127.0.0.2:0"}, nil},
		{"loopback v6", Config{Addr: "[::1]:1883"}, nil},
		{"localhost", Config{Addr: "localhost:1883"}, nil},
		{"every interface", Config{Addr: ":1883"}, ErrInsecure},
		{"any v4", Config{Addr: "0.0.0.0:1883"}, ErrInsecure},
		{"any v6", Config{Addr: "[::]:1883"}, ErrInsecure},
		{"lan address", Config{Addr: "192.168.1.10:1883"}, ErrInsecure},
		{"host name", Config{Addr: "gateway.lan:1883"}, ErrInsecure},
		{"lan with password file", Config{Addr: "0.0.0.0:1883", PasswordFile: "pw"}, nil},
		{"lan with plain user", Config{Addr: "0.0.0.0:1883", Username: "u", Password: "p"}, nil},
		{"lan with TLS", Config{Addr: "0.0.0.0:8883", CertFile: "c.pem", KeyFile: "k.pem"}, nil},
		{"lan allowed", Config{Addr: "0.0.0.0:1883", InsecureListen: true}, nil},
		{"user without password", Config{Addr: "127.0.0.1:1883", Username: "u"}, ErrConfig},
		{"password without user", Config{Addr: "127.0.0.1:1883", Password: "p"}, ErrConfig},
		{"cert without key", Config{Addr: "127.0.0.1:1883", CertFile: "c.pem"}, ErrConfig},
		{"key without cert", Config{Addr: "127.0.0.1:1883", KeyFile: "k.pem"}, ErrConfig},
		{"no port", Config{Addr: "127.0.0.1"}, ErrConfig},
		{"empty", Config{}, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Check()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

// Hashes written by mosquitto_passwd 2.0.11 (Debian's mosquitto package):
// "mosquitto_passwd -b pw alice secret" ($7$, the default) and
// "mosquitto_passwd -H sha512 -b pw bob hunter2" ($6$).
const mosquittoPasswdFile = `# written by mosquitto_passwd 2.0.11
alice:$7$101$gZhUsrcr3KT3idoO$5Xgruvei2CfdcVRQ/PQggFe0KDiEZo77zOhLJGkXh4uVXe7FA0xj9MNWeFaGaNVoYoP7x4Z8ZRGLoeZ7o9VNyg==

bob:$6$rbLmCyt7aiROGXNP$ns223z0gEPuf6zuaM3IkxFWww3JHbIVbocAuGdaegAxS93eYBpe576OHbyUagEzwfyrYLk5DI8INh5pVlN++Lw==
`

func TestPasswordFileVerify(t *testing.T) {
	pf, err := ParsePasswordFile([]byte(mosquittoPasswdFile))
	if err != nil {
		t.Fatal(err)
	}
	if pf.Users() != 2 {
		t.Fatalf("%d users, want 2", pf.Users())
	}
	tests := []struct {
		user, password string
		want           bool
	}{
		{"alice", "secret", true},
		{"alice", "Secret", false},
		{"alice", "", false},
		{"bob", "hunter2", true},
		{"bob", "hunter", false},
		{"carol", "secret", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := pf.Verify(tt.user, tt.password); got != tt.want {
			t.Errorf("Verify(%q, %q) = %t, want %t", tt.user, tt.password, got, tt.want)
		}
	}
}

// TestPasswordFileFromMosquittoPasswd hashes fresh passwords with the
// installed mosquitto_passwd, in both formats, and verifies them.
func TestPasswordFileFromMosquittoPasswd(t *testing.T) {
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		if os.Getenv("CELLMQTT_INTEROP") == "1" {
			t.Fatal("CELLMQTT_INTEROP=1 but mosquitto_passwd is missing (apt-get install mosquitto)")
		}
		t.Skip("mosquitto_passwd is not installed (apt-get install mosquitto)")
	}
	path := filepath.Join(t.TempDir(), "passwd")
	for i, c := range []struct{ hash, user, password string }{
		{"sha512-pbkdf2", "dev1", "pa:ss wörd"},
		{"sha512", "dev2", "x"},
	} {
		args := []string{"-H", c.hash, "-b", path, c.user, c.password}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %v: %v\n%s", args, err, out)
		}
	}
	pf, err := ReadPasswordFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !pf.Verify("dev1", "pa:ss wörd") || !pf.Verify("dev2", "x") {
		t.Error("a password mosquitto_passwd hashed does not verify")
	}
	if pf.Verify("dev1", "x") || pf.Verify("dev2", "pa:ss wörd") {
		t.Error("a wrong password verifies")
	}
}

func TestPasswordFileErrors(t *testing.T) {
	tests := []struct{ name, line string }{
		{"plain text", "alice:topsecret"},
		{"no colon", "alice"},
		{"no user", ":$6$cnVF$" + b64zeros64},
		{"unknown scheme", "alice:$5$cnVF$" + b64zeros64},
		{"iterations not a number", "alice:$7$x$cnVF$" + b64zeros64},
		{"iterations zero", "alice:$7$0$cnVF$" + b64zeros64},
		{"iterations huge", "alice:$7$99999999$cnVF$" + b64zeros64},
		{"salt not base64", "alice:$6$%%%$" + b64zeros64},
		{"short hash", "alice:$6$cnVF$AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePasswordFile([]byte("# users\n\n" + tt.line + "\n"))
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if want := "line 3"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	if _, err := ReadPasswordFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// b64zeros64 is 64 zero bytes in base64: a well-formed SHA-512 digest.
const b64zeros64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="

func TestAuthenticator(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	if err := os.WriteFile(pw, []byte(mosquittoPasswdFile), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		cfg            Config
		user, password string
		want           error
	}{
		{"no auth configured", Config{}, "", "", nil},
		{"file user", Config{PasswordFile: pw}, "alice", "secret", nil},
		{"file wrong password", Config{PasswordFile: pw}, "alice", "nope", ErrBadCredentials},
		{"file anonymous", Config{PasswordFile: pw}, "", "", ErrNoCredentials},
		{"plain user", Config{Username: "gw", Password: "pw"}, "gw", "pw", nil},
		{"plain wrong password", Config{Username: "gw", Password: "pw"}, "gw", "pw2", ErrBadCredentials},
		{"plain wrong user", Config{Username: "gw", Password: "pw"}, "gx", "pw", ErrBadCredentials},
		{"plain anonymous", Config{Username: "gw", Password: "pw"}, "", "pw", ErrNoCredentials},
		{"both: file user", Config{PasswordFile: pw, Username: "gw", Password: "pw"}, "bob", "hunter2", nil},
		{"both: plain user", Config{PasswordFile: pw, Username: "gw", Password: "pw"}, "gw", "pw", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.cfg.Authenticator()
			if err != nil {
				t.Fatal(err)
			}
			if (a == nil) == tt.cfg.Authenticates() {
				t.Fatalf("Authenticator() = %v with Authenticates() %t", a, tt.cfg.Authenticates())
			}
			if err := a.Authenticate(tt.user, []byte(tt.password)); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Authenticate(%q, %q) = %v, want %v", tt.user, tt.password, err, tt.want)
			}
		})
	}
	if _, err := (Config{PasswordFile: filepath.Join(dir, "missing")}).Authenticator(); err == nil {
		t.Error("a missing password file gave no error")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files and returns their paths and the certificate.
func writeCert(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cellmqtt listener test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

func TestListenTLS(t *testing.T) {
	certFile, keyFile, cert := writeCert(t)
	ln, err := Config{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(c, io.LimitReader(c, 5))
		served <- err
	}()
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}

	// A plain MQTT client gets no answer from a TLS listener: it sees the
	// connection end instead of a CONNACK.
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, _ = plain.Write([]byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0})
	_ = plain.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 64)
	n, _ := io.ReadFull(plain, b[:4])
	if n == 4 && b[0] == 0x20 {
		t.Fatalf("a plain client got a CONNACK from the TLS listener")
	}
}

func TestListenRefuses(t *testing.T) {
	certFile, keyFile, _ := writeCert(t)
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"insecure", Config{Addr: "0.0.0.0:0"}, ErrInsecure},
		{"key mismatch", Config{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: certFile}, nil},
		{"missing cert", Config{Addr: "127.0.0.1:0", CertFile: certFile + ".no", KeyFile: keyFile}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := tt.cfg.Listen(context.Background())
			if err == nil {
				ln.Close()
				t.Fatal("Listen succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Listen: %v, want %v", err, tt.want)
			}
		})
	}
}
