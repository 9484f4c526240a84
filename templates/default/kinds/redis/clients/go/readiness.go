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
