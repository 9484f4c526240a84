func init() { handshakes["redis"] = redisPing }

// redisPing sends AUTH (when a password is configured) and PING over RESP, expecting +OK and
// +PONG.
func redisPing(conn net.Conn, _ database, password string) error {
	r := bufio.NewReader(conn)
	if password != "" {
		if err := redisCommand(conn, r, "+OK", "AUTH", password); err != nil {
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
