package main

// Readiness checks for every database named in $DATABASES, with the standard library only.
//
// docker-compose.yml describes each database `<name>` with variables prefixed by the name in
// upper case ('-' becomes '_'): <P>_KIND, <P>_HOST, <P>_PORT, <P>_USER, <P>_DATABASE and
// <P>_PASSWORD_FILE (a mounted secret file; the password itself is never in the environment).
//
// Without drivers, each check speaks the database's wire protocol with the standard library:
// each handshake below says how far it goes (most log in, so a wrong password fails the check).
// A database without one must accept a TCP connection. Replace these with real driver logins
// once you add a driver module (go get, then go.sum next to go.mod).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
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

func init() { handshakes["postgres"] = postgresLogin }

// postgresLogin logs in (protocol 3.0) as the configured user to the configured database and
// waits for ReadyForQuery: the server has then checked the password and the right to connect.
// Authentication: SCRAM-SHA-256 (the official image's default), md5 or a cleartext password,
// whichever the server asks for; none (trust) is accepted as well.
func postgresLogin(conn net.Conn, db database, password string) error {
	body := []byte{0, 3, 0, 0} // protocol version 3.0
	for _, s := range []string{"user", db.user, "database", db.dbname} {
		body = append(append(body, s...), 0)
	}
	body = append(body, 0)
	if err := pgSend(conn, 0, body); err != nil {
		return err
	}
	var scram *pgScram
	for {
		kind, msg, err := pgReceive(conn)
		if err != nil {
			return err
		}
		switch kind {
		case 'E':
			return pgError(msg)
		case 'Z': // ReadyForQuery: logged in; log out properly
			return pgSend(conn, 'X', nil)
		case 'R':
			if len(msg) < 4 {
				return errors.New("postgres: short authentication request")
			}
			if scram, err = pgAuthenticate(conn, db, password, binary.BigEndian.Uint32(msg), msg[4:], scram); err != nil {
				return err
			}
		}
		// anything else (ParameterStatus, BackendKeyData, NoticeResponse) until ReadyForQuery
	}
}

// pgAuthenticate answers one authentication request ('R' message of the given code).
func pgAuthenticate(conn net.Conn, db database, password string, code uint32, data []byte, scram *pgScram) (*pgScram, error) {
	switch code {
	case 0: // AuthenticationOk
		return scram, nil
	case 3: // cleartext password
		return scram, pgSend(conn, 'p', append([]byte(password), 0))
	case 5: // md5: "md5" + md5(md5(password + user) + salt)
		if len(data) < 4 {
			return scram, errors.New("postgres: short md5 salt")
		}
		inner := md5.Sum([]byte(password + db.user))
		outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), data[:4]...))
		return scram, pgSend(conn, 'p', append([]byte("md5"+hex.EncodeToString(outer[:])), 0))
	case 10: // SASL: the mechanisms the server offers, NUL-terminated
		if !strings.Contains("\x00"+string(data), "\x00SCRAM-SHA-256\x00") {
			return scram, fmt.Errorf("postgres: no supported SASL mechanism in %q", data)
		}
		nonce := make([]byte, 18)
		if _, err := rand.Read(nonce); err != nil {
			return scram, err
		}
		// The user name is the startup message's: the SCRAM one is left empty, as libpq does.
		scram = &pgScram{clientFirstBare: "n=,r=" + base64.StdEncoding.EncodeToString(nonce)}
		first := "n,," + scram.clientFirstBare
		msg := append([]byte("SCRAM-SHA-256\x00"), 0, 0, 0, 0)
		binary.BigEndian.PutUint32(msg[len(msg)-4:], uint32(len(first)))
		return scram, pgSend(conn, 'p', append(msg, first...))
	case 11: // SASLContinue: the server-first-message
		if scram == nil {
			return scram, errors.New("postgres: SASL continue before start")
		}
		final, err := scram.clientFinal(password, string(data))
		if err != nil {
			return scram, err
		}
		return scram, pgSend(conn, 'p', []byte(final))
	case 12: // SASLFinal: the server proves it knows the password too
		if scram == nil || !hmac.Equal([]byte(strings.TrimSpace(string(data))), []byte("v="+scram.serverSignature)) {
			return scram, errors.New("postgres: wrong SCRAM server signature")
		}
		return scram, nil
	default:
		return scram, fmt.Errorf("postgres: unsupported authentication method %d", code)
	}
}

// pgScram is one SCRAM-SHA-256 exchange (RFC 5802, RFC 7677) in progress.
type pgScram struct {
	clientFirstBare, serverSignature string
}

// clientFinal computes the client-final-message (with the proof) from the server-first-message,
// and remembers the signature the server must send back.
func (s *pgScram) clientFinal(password, serverFirst string) (string, error) {
	var nonce, salt, iterations string
	for _, attr := range strings.Split(serverFirst, ",") {
		switch {
		case strings.HasPrefix(attr, "r="):
			nonce = attr[2:]
		case strings.HasPrefix(attr, "s="):
			salt = attr[2:]
		case strings.HasPrefix(attr, "i="):
			iterations = attr[2:]
		}
	}
	rawSalt, err := base64.StdEncoding.DecodeString(salt)
	if err != nil {
		return "", fmt.Errorf("postgres: bad SCRAM salt: %w", err)
	}
	iter, err := strconv.Atoi(iterations)
	if err != nil || iter < 1 || !strings.HasPrefix(nonce, s.clientFirstBare[len("n=,r="):]) {
		return "", errors.New("postgres: bad SCRAM server-first-message")
	}
	salted, err := pbkdf2.Key(sha256.New, password, rawSalt, iter, sha256.Size)
	if err != nil {
		return "", err
	}
	withoutProof := "c=biws,r=" + nonce // biws: base64 of the GS2 header "n,,"
	authMessage := []byte(s.clientFirstBare + "," + serverFirst + "," + withoutProof)
	clientKey := pgHMAC(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	proof := pgHMAC(storedKey[:], authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	s.serverSignature = base64.StdEncoding.EncodeToString(pgHMAC(pgHMAC(salted, []byte("Server Key")), authMessage))
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func pgHMAC(key, data []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	return mac.Sum(nil)
}

// pgSend writes one message: its type (none for the startup message), length, body.
func pgSend(conn net.Conn, kind byte, body []byte) error {
	var msg []byte
	if kind != 0 {
		msg = append(msg, kind)
	}
	msg = binary.BigEndian.AppendUint32(msg, uint32(4+len(body)))
	_, err := conn.Write(append(msg, body...))
	return err
}

// pgReceive reads one whole message (reading it all even when unused: closing with unread data
// would reset the connection, which the server logs).
func pgReceive(conn net.Conn) (byte, []byte, error) {
	header := make([]byte, 5) // message type, then its length (including itself)
	if _, err := io.ReadFull(conn, header); err != nil {
		return 0, nil, fmt.Errorf("postgres: no reply: %w", err)
	}
	n := binary.BigEndian.Uint32(header[1:])
	if n < 4 || n > 65536 {
		return 0, nil, fmt.Errorf("postgres: unexpected message length %d", n)
	}
	msg := make([]byte, n-4)
	if _, err := io.ReadFull(conn, msg); err != nil {
		return 0, nil, fmt.Errorf("postgres: truncated message: %w", err)
	}
	return header[0], msg, nil
}

// pgError is an ErrorResponse's message: fields of a type byte and a NUL-terminated string.
func pgError(msg []byte) error {
	for _, field := range strings.Split(string(msg), "\x00") {
		if strings.HasPrefix(field, "M") {
			return errors.New("postgres: " + field[1:])
		}
	}
	return errors.New("postgres: login refused")
}

func init() { handshakes["mysql"] = mysqlLogin }

// mysqlLogin logs in as the configured user to the configured database: the server has then
// checked the password and the user's right to that database. Authentication:
// caching_sha2_password (MySQL 8.4's default), including its full authentication (the first
// login after a server start) over plain TCP with the server's RSA public key, and
// mysql_native_password (MariaDB's default), whichever the server asks for or switches to.
func mysqlLogin(conn net.Conn, db database, password string) error {
	seq, greeting, err := mysqlReceive(conn)
	if err != nil {
		return err
	}
	if greeting[0] == 0xff { // refused outright (host not allowed, too many connections...)
		return mysqlError(greeting)
	}
	if greeting[0] != 10 {
		return fmt.Errorf("mysql: unexpected greeting (protocol %d)", greeting[0])
	}
	// protocol 10: server version NUL, thread id (4), scramble part 1 (8), filler, capabilities
	// (2), charset, status (2), capabilities (2), scramble length, reserved (10), scramble
	// part 2 (12 + NUL), the authentication plugin's name NUL
	rest := greeting[1:]
	end := bytes.IndexByte(rest, 0)
	if end < 0 || len(rest) < end+1+4+8+1+2+1+2+2+1+10+12 {
		return errors.New("mysql: short greeting")
	}
	rest = rest[end+1+4:]
	scramble := append([]byte{}, rest[:8]...)
	rest = rest[8+1+2+1+2+2+1+10:]
	scramble = append(scramble, rest[:12]...)
	plugin := "mysql_native_password"
	if tail := rest[12:]; len(tail) > 1 {
		if end := bytes.IndexByte(tail[1:], 0); end >= 0 {
			plugin = string(tail[1 : 1+end])
		} else {
			plugin = string(tail[1:])
		}
	}
	auth, err := mysqlScramble(plugin, password, scramble)
	if err != nil {
		return err
	}
	// HandshakeResponse41: LONG_PASSWORD, CONNECT_WITH_DB, PROTOCOL_41, SECURE_CONNECTION,
	// PLUGIN_AUTH; max packet size; utf8mb4; 23 reserved bytes
	const capabilities = 0x1 | 0x8 | 0x200 | 0x8000 | 0x80000
	resp := binary.LittleEndian.AppendUint32(nil, capabilities)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<24)
	resp = append(resp, 45)
	resp = append(resp, make([]byte, 23)...)
	resp = append(append(resp, db.user...), 0)
	resp = append(append(resp, byte(len(auth))), auth...)
	resp = append(append(resp, db.dbname...), 0)
	resp = append(append(resp, plugin...), 0)
	if err := mysqlSend(conn, seq+1, resp); err != nil {
		return err
	}
	for {
		seq, reply, err := mysqlReceive(conn)
		if err != nil {
			return err
		}
		switch {
		case reply[0] == 0x00: // OK: logged in; log out properly (COM_QUIT)
			return mysqlSend(conn, 0, []byte{0x01})
		case reply[0] == 0xff:
			return mysqlError(reply)
		case reply[0] == 0xfe: // AuthSwitchRequest: plugin name NUL, a new scramble
			name, data, _ := bytes.Cut(reply[1:], []byte{0})
			plugin = string(name)
			scramble = bytes.TrimSuffix(data, []byte{0})
			if auth, err = mysqlScramble(plugin, password, scramble); err != nil {
				return err
			}
			err = mysqlSend(conn, seq+1, auth)
		case reply[0] == 0x01 && plugin == "caching_sha2_password" && len(reply) == 2 && reply[1] == 3:
			// fast authentication succeeded: the OK follows
		case reply[0] == 0x01 && plugin == "caching_sha2_password" && len(reply) == 2 && reply[1] == 4:
			// full authentication: the password, encrypted with the server's RSA public key
			// (asked for with 0x02), as TLS isn't used
			err = mysqlSend(conn, seq+1, []byte{0x02})
		case reply[0] == 0x01 && plugin == "caching_sha2_password" && len(reply) > 2:
			var encrypted []byte
			if encrypted, err = mysqlEncrypt(reply[1:], password, scramble); err == nil {
				err = mysqlSend(conn, seq+1, encrypted)
			}
		default:
			return fmt.Errorf("mysql: unexpected reply 0x%02x during authentication", reply[0])
		}
		if err != nil {
			return err
		}
	}
}

// mysqlScramble is the first authentication answer of a plugin: a proof of the password
// mixed with the server's scramble. An empty password is sent as nothing.
func mysqlScramble(plugin, password string, scramble []byte) ([]byte, error) {
	if password == "" {
		return nil, nil
	}
	switch plugin {
	case "caching_sha2_password": // SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble)
		p1 := sha256.Sum256([]byte(password))
		p2 := sha256.Sum256(p1[:])
		p3 := sha256.Sum256(append(p2[:], scramble...))
		for i := range p1 {
			p1[i] ^= p3[i]
		}
		return p1[:], nil
	case "mysql_native_password": // SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))
		p1 := sha1.Sum([]byte(password))
		p2 := sha1.Sum(p1[:])
		p3 := sha1.Sum(append(append([]byte{}, scramble...), p2[:]...))
		for i := range p1 {
			p1[i] ^= p3[i]
		}
		return p1[:], nil
	default:
		return nil, fmt.Errorf("mysql: unsupported authentication plugin %q", plugin)
	}
}

// mysqlEncrypt is caching_sha2_password's full authentication answer: (password NUL) XOR the
// scramble (repeated), encrypted with RSA-OAEP (SHA-1) and the server's PEM public key.
func mysqlEncrypt(pemKey []byte, password string, scramble []byte) ([]byte, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil || len(scramble) == 0 {
		return nil, errors.New("mysql: no RSA public key from the server")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("mysql: server public key: %w", err)
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("mysql: the server's public key is not RSA")
	}
	plain := append([]byte(password), 0)
	for i := range plain {
		plain[i] ^= scramble[i%len(scramble)]
	}
	return rsa.EncryptOAEP(sha1.New(), rand.Reader, rsaKey, plain, nil)
}

// mysqlSend writes one packet: 3-byte little-endian payload length, sequence number, payload.
func mysqlSend(conn net.Conn, seq byte, payload []byte) error {
	header := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq}
	_, err := conn.Write(append(header, payload...))
	return err
}

// mysqlReceive reads one whole packet: its sequence number and payload (never empty).
func mysqlReceive(conn net.Conn) (byte, []byte, error) {
	header := make([]byte, 4)
	if _, err := io.ReadFull(conn, header); err != nil {
		return 0, nil, fmt.Errorf("mysql: no reply: %w", err)
	}
	n := int(header[0]) | int(header[1])<<8 | int(header[2])<<16
	if n < 1 || n > 65536 {
		return 0, nil, fmt.Errorf("mysql: unexpected packet length %d", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(conn, payload); err != nil {
		return 0, nil, fmt.Errorf("mysql: truncated packet: %w", err)
	}
	return header[3], payload, nil
}

// mysqlError is an ERR packet's code and message (after the SQL state marker '#' and state).
func mysqlError(payload []byte) error {
	if len(payload) < 3 {
		return errors.New("mysql: login refused")
	}
	code := binary.LittleEndian.Uint16(payload[1:3])
	msg := payload[3:]
	if len(msg) >= 6 && msg[0] == '#' {
		msg = msg[6:]
	}
	return fmt.Errorf("mysql: error %d: %s", code, msg)
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
