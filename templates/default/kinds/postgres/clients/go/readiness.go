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
