package main

// Copied by tests/e2e/test_db_roles.py beside a generated go service's readiness.go (which
// includes the mysql client) and run with `go test` in the lab's golang image. The lab's mysql
// image is MariaDB (mysql_native_password); MySQL 8.4's caching_sha2_password is checked here
// against a server that follows MySQL's documented exchange: fast authentication (the server
// has the password's hash cached) and full authentication (it hasn't, the first login after a
// start), where the client asks for the server's RSA public key and sends the password
// encrypted with RSA-OAEP (SHA-1), XORed with the scramble.
//
// With FAKE_MYSQL_LISTEN set, TestServeFakeMySQL serves that exchange on TCP for the python
// and node clients: the first login of a user takes the full authentication, the next ones the
// fast one, as a real server's cache does.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

type fakeMySQL struct {
	password string
	cached   bool            // fast authentication succeeds when the client's scramble is right
	cache    map[string]bool // users with a cached hash (a TCP server's), instead of `cached`
	key      *rsa.PrivateKey
	scramble []byte
	got      []string // what the client did, for the assertions
}

func (f *fakeMySQL) send(conn net.Conn, seq byte, payload []byte) {
	conn.Write(append([]byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq}, payload...))
}

func (f *fakeMySQL) serve(conn net.Conn) error {
	defer conn.Close()
	// protocol 10 greeting, caching_sha2_password, as MySQL 8.4 sends it
	g := []byte{10}
	g = append(append(g, "8.4.0"...), 0)
	g = append(g, 1, 0, 0, 0)
	g = append(g, f.scramble[:8]...)
	g = append(g, 0, 0xff, 0xf7, 45, 2, 0, 0xff, 0x00, 21) // no CLIENT_SSL, no DEPRECATE_EOF
	g = append(g, make([]byte, 10)...)
	g = append(append(g, f.scramble[8:]...), 0)
	g = append(append(g, "caching_sha2_password"...), 0)
	f.send(conn, 0, g)

	seq, resp, err := mysqlReceive(conn)
	if err != nil {
		return err
	}
	// capabilities(4) max packet(4) charset(1) reserved(23) user NUL, auth length, auth, db NUL, plugin NUL
	rest := resp[32:]
	user, rest, _ := bytes.Cut(rest, []byte{0})
	auth := rest[1 : 1+int(rest[0])]
	db, rest, _ := bytes.Cut(rest[1+int(rest[0]):], []byte{0})
	plugin, _, _ := bytes.Cut(rest, []byte{0})
	f.got = append(f.got, "login "+string(user)+" "+string(db)+" "+string(plugin))
	if f.cache != nil {
		f.cached = f.cache[string(user)]
	}

	p1 := sha256.Sum256([]byte(f.password))
	p2 := sha256.Sum256(p1[:])
	p3 := sha256.Sum256(append(p2[:], f.scramble...))
	for i := range p1 {
		p1[i] ^= p3[i]
	}
	if f.cached && bytes.Equal(auth, p1[:]) {
		f.got = append(f.got, "fast")
		f.send(conn, seq+1, []byte{0x01, 0x03})
		f.send(conn, seq+2, []byte{0x00, 0, 0, 2, 0, 0, 0})
		f.commands(conn)
		return nil
	}
	f.send(conn, seq+1, []byte{0x01, 0x04}) // perform full authentication
	seq, req, err := mysqlReceive(conn)
	if err != nil {
		return err
	}
	if !bytes.Equal(req, []byte{0x02}) {
		return errors.New("the client did not ask for the public key")
	}
	f.got = append(f.got, "key asked")
	der, _ := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	f.send(conn, seq+1, append([]byte{0x01}, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...))
	seq, encrypted, err := mysqlReceive(conn)
	if err != nil {
		return err
	}
	plain, err := rsa.DecryptOAEP(sha1.New(), nil, f.key, encrypted, nil)
	if err != nil {
		return err
	}
	for i := range plain {
		plain[i] ^= f.scramble[i%len(f.scramble)]
	}
	if string(plain) != f.password+"\x00" {
		f.got = append(f.got, "wrong password")
		f.send(conn, seq+1, append([]byte{0xff, 0x15, 0x04, '#'}, "28000Access denied"...))
		return nil
	}
	f.got = append(f.got, "full")
	if f.cache != nil {
		f.cache[string(user)] = true
	}
	f.send(conn, seq+1, []byte{0x00, 0, 0, 2, 0, 0, 0})
	f.commands(conn)
	return nil
}

// commands answers OK to every command (a ping, a client's SET at connect) until COM_QUIT.
func (f *fakeMySQL) commands(conn net.Conn) {
	for {
		_, cmd, err := mysqlReceive(conn)
		if err != nil {
			return
		}
		if bytes.Equal(cmd, []byte{0x01}) {
			f.got = append(f.got, "quit")
			return
		}
		f.got = append(f.got, fmt.Sprintf("command 0x%02x", cmd[0]))
		f.send(conn, 1, []byte{0x00, 0, 0, 2, 0, 0, 0})
	}
}

func runFake(t *testing.T, f *fakeMySQL, password string) error {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.key = key
	f.scramble = []byte("abcdefghijklmnopqrst") // 20 bytes, no NUL, as a server's
	server, client := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- f.serve(server) }()
	loginErr := mysqlLogin(client, database{user: "api", dbname: "api"}, password)
	client.Close()
	if err := <-done; err != nil && !strings.Contains(err.Error(), "closed") {
		t.Fatalf("fake server: %v", err)
	}
	return loginErr
}

func TestCachingSha2FullAuthentication(t *testing.T) {
	f := &fakeMySQL{password: "s3cret-Pa55"}
	if err := runFake(t, f, "s3cret-Pa55"); err != nil {
		t.Fatalf("login failed: %v (%v)", err, f.got)
	}
	want := "login api api caching_sha2_password|key asked|full|quit"
	if got := strings.Join(f.got, "|"); got != want {
		t.Fatalf("exchange %q, want %q", got, want)
	}
}

func TestCachingSha2FastAuthentication(t *testing.T) {
	f := &fakeMySQL{password: "s3cret-Pa55", cached: true}
	if err := runFake(t, f, "s3cret-Pa55"); err != nil {
		t.Fatalf("login failed: %v (%v)", err, f.got)
	}
	if got := strings.Join(f.got, "|"); got != "login api api caching_sha2_password|fast|quit" {
		t.Fatalf("exchange %q", got)
	}
}

func TestCachingSha2WrongPasswordFails(t *testing.T) {
	for _, cached := range []bool{false, true} {
		f := &fakeMySQL{password: "s3cret-Pa55", cached: cached}
		err := runFake(t, f, "wrong")
		if err == nil || !strings.Contains(err.Error(), "1045") {
			t.Fatalf("cached=%v: login with a wrong password: %v (%v)", cached, err, f.got)
		}
	}
}

func TestServeFakeMySQL(t *testing.T) {
	addr := os.Getenv("FAKE_MYSQL_LISTEN")
	if addr == "" {
		t.Skip("FAKE_MYSQL_LISTEN not set")
	}
	count, _ := strconv.Atoi(os.Getenv("FAKE_MYSQL_CONNECTIONS"))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fmt.Println("listening")
	cache := map[string]bool{}
	for i := 0; i < count; i++ {
		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		f := &fakeMySQL{password: "s3cret-Pa55", cache: cache, key: key, scramble: []byte("ABCDEFGHIJKLMNOPQRST")}
		err = f.serve(conn)
		fmt.Printf("connection %d: %s (%v)\n", i, strings.Join(f.got, "|"), err)
	}
}
