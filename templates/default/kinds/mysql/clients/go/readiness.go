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
