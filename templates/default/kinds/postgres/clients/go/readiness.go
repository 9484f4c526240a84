func init() { handshakes["postgres"] = postgresStartup }

// postgresStartup sends a StartupMessage (protocol 3.0) for the configured user and database.
// The server answers 'R' (an authentication request) when it accepts the connection, or 'E'
// with the reason (no pg_hba.conf entry, too many clients, starting up, shutting down...).
// The password is not sent, so a wrong password or database name goes unnoticed here; the
// server takes the hang-up during authentication as a silent client exit.
func postgresStartup(conn net.Conn, db database, _ string) error {
	body := []byte{0, 3, 0, 0} // protocol version 3.0
	for _, s := range []string{"user", db.user, "database", db.dbname} {
		body = append(append(body, s...), 0)
	}
	body = append(body, 0)
	msg := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(msg, uint32(4+len(body)))
	if _, err := conn.Write(append(msg, body...)); err != nil {
		return err
	}
	header := make([]byte, 5) // message type, then its length (including itself)
	if _, err := io.ReadFull(conn, header); err != nil {
		return fmt.Errorf("postgres: no startup reply: %w", err)
	}
	n := binary.BigEndian.Uint32(header[1:])
	if header[0] != 'R' && header[0] != 'E' {
		return fmt.Errorf("postgres: unexpected startup reply %q", header[0])
	}
	if n < 5 || n > 8192 {
		return fmt.Errorf("postgres: unexpected reply length %d", n)
	}
	// Read the whole reply even when it isn't needed: closing with unread data would reset
	// the connection, which the server logs.
	reply := make([]byte, n-4)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return fmt.Errorf("postgres: truncated startup reply: %w", err)
	}
	if header[0] == 'R' {
		// AuthenticationOk (the server asks no password, e.g. trust): log out properly.
		if len(reply) >= 4 && binary.BigEndian.Uint32(reply) == 0 {
			_, err := conn.Write([]byte{'X', 0, 0, 0, 4})
			return err
		}
		return nil
	}
	// An ErrorResponse: fields of a type byte and a NUL-terminated string; 'M' is the message.
	for _, field := range strings.Split(string(reply), "\x00") {
		if strings.HasPrefix(field, "M") {
			return errors.New("postgres: " + field[1:])
		}
	}
	return errors.New("postgres: startup refused")
}
