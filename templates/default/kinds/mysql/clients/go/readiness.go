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
