package main

// Readiness checks for every database named in $DATABASES, with the standard library only.
//
// docker-compose.yml describes each database `<name>` with variables prefixed by the name in
// upper case ('-' becomes '_'): <P>_KIND, <P>_HOST, <P>_PORT, <P>_USER, <P>_DATABASE and
// <P>_PASSWORD_FILE (a mounted secret file; the password itself is never in the environment).
//
// Without drivers, each check goes as far as the wire protocol allows cheaply: each handshake
// below says how far. A database without one must accept a TCP connection. Replace these with
// real driver logins once you add a driver module (go get, then go.sum next to go.mod).

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// timeout bounds each check: connect plus the whole exchange.
const timeout = 2 * time.Second

type database struct {
	name, kind, host, port, user, dbname, passwordFile string
}

func configuredDatabases() []database {
	var dbs []database
	for _, name := range strings.Split(os.Getenv("DATABASES"), ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		prefix := strings.ReplaceAll(strings.ToUpper(name), "-", "_") + "_"
		env := func(key string) string { return os.Getenv(prefix + key) }
		dbs = append(dbs, database{
			name:         name,
			kind:         env("KIND"),
			host:         getenv(prefix+"HOST", name),
			port:         env("PORT"),
			user:         env("USER"),
			dbname:       env("DATABASE"),
			passwordFile: env("PASSWORD_FILE"),
		})
	}
	return dbs
}

// password is read at every check, so a rotated secret is picked up without a restart. Only a
// trailing newline is stripped: it is never part of a password, spaces may be.
func (db database) password() (string, error) {
	if db.passwordFile == "" {
		return "", nil
	}
	data, err := os.ReadFile(db.passwordFile)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// handshakes run on a fresh connection to a database of their kind; each database client
// below registers its own.
var handshakes = map[string]func(conn net.Conn, db database, password string) error{}

// checkAll checks every database concurrently: name -> "ok" or the error.
func checkAll(ctx context.Context, dbs []database) map[string]string {
	results := make(map[string]string, len(dbs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, db := range dbs {
		wg.Add(1)
		go func(db database) {
			defer wg.Done()
			result := "ok"
			if err := check(ctx, db); err != nil {
				result = err.Error()
			}
			mu.Lock()
			results[db.name] = result
			mu.Unlock()
		}(db)
	}
	wg.Wait()
	return results
}

func check(ctx context.Context, db database) error {
	password, err := db.password() // a missing secret is a configuration error worth reporting
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(db.host, db.port))
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	if handshake := handshakes[db.kind]; handshake != nil {
		return handshake(conn, db, password)
	}
	return nil
}

func init() { handshakes["mysql"] = mysqlGreeting }

// mysqlGreeting reads the server's first packet: a handshake (protocol version 10, then the
// server version), or an error packet (0xff) if the server refuses this client outright.
func mysqlGreeting(conn net.Conn, _ database, _ string) error {
	header := make([]byte, 4) // 3-byte little-endian payload length, sequence number
	if _, err := io.ReadFull(conn, header); err != nil {
		return fmt.Errorf("mysql: no greeting: %w", err)
	}
	n := int(header[0]) | int(header[1])<<8 | int(header[2])<<16
	if n < 1 || n > 8192 {
		return fmt.Errorf("mysql: unexpected greeting length %d", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(conn, payload); err != nil {
		return fmt.Errorf("mysql: truncated greeting: %w", err)
	}
	switch {
	case payload[0] == 10:
		return nil
	case payload[0] == 0xff && n >= 3:
		code := binary.LittleEndian.Uint16(payload[1:3])
		return fmt.Errorf("mysql: error %d: %s", code, payload[3:])
	default:
		return fmt.Errorf("mysql: unexpected greeting (protocol %d)", payload[0])
	}
}

func init() { handshakes["redis"] = redisPing }

// redisPing logs in (AUTH user password: the service's ACL user, or AUTH password for the
// default user when no user is configured) and sends PING over RESP, expecting +OK and +PONG.
func redisPing(conn net.Conn, db database, password string) error {
	r := bufio.NewReader(conn)
	if password != "" {
		auth := []string{"AUTH", password}
		if db.user != "" {
			auth = []string{"AUTH", db.user, password}
		}
		if err := redisCommand(conn, r, "+OK", auth...); err != nil {
			return err
		}
	}
	return redisCommand(conn, r, "+PONG", "PING")
}

func redisCommand(w io.Writer, r *bufio.Reader, want string, args ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, arg := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(arg), arg)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("redis %s: %w", args[0], err)
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case line == want:
		return nil
	case strings.HasPrefix(line, "-"): // an error reply, e.g. WRONGPASS; never echoes the password
		return fmt.Errorf("redis %s: %s", args[0], line[1:])
	default:
		return fmt.Errorf("redis %s: unexpected reply %q", args[0], line)
	}
}
