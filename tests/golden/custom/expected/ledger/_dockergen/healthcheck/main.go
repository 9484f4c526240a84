// The health probe dockergen builds beside the app: the runtime image is scratch (no shell, curl
// or interpreter to probe with), and a probe the engine runs every few seconds must cost little
// CPU (a static binary: a few ms, where a node or python process costs 25-60 ms).
//
//	healthcheck http://127.0.0.1:8080/status   exit 0 when GET answers a status below 400
//	healthcheck tcp://127.0.0.1:8080           exit 0 when the port accepts a connection
//
// Standard library only, and only package net: one HTTP/1.1 request with Connection: close,
// judged by its status line (a redirect counts as alive). Everything within 2 s.
// The leading underscore of its folder keeps it out of `go build ./...`.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "healthcheck: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) != 2 {
		fail(2, "usage: healthcheck http://HOST:PORT/PATH | tcp://HOST:PORT")
	}
	deadline := time.Now().Add(2 * time.Second)
	target := os.Args[1]
	if address, ok := strings.CutPrefix(target, "tcp://"); ok {
		conn, err := net.DialTimeout("tcp", address, time.Until(deadline))
		if err != nil {
			fail(1, "%v", err)
		}
		conn.Close()
		return
	}
	rest, ok := strings.CutPrefix(target, "http://")
	if !ok {
		fail(2, "%q is neither http:// nor tcp://", target)
	}
	address, path, _ := strings.Cut(rest, "/")
	conn, err := net.DialTimeout("tcp", address, time.Until(deadline))
	if err != nil {
		fail(1, "%v", err)
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	request := "GET /" + path + " HTTP/1.1\r\nHost: " + address +
		"\r\nUser-Agent: dockergen-healthcheck\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(request)); err != nil {
		fail(1, "%v", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		fail(1, "no status line: %v", err)
	}
	// "HTTP/1.1 200 OK"
	fields := strings.Fields(line)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		fail(1, "not an HTTP answer: %q", strings.TrimSpace(line))
	}
	status, err := strconv.Atoi(fields[1])
	if err != nil || status < 200 || status >= 400 {
		fail(1, "%s", strings.TrimSpace(line))
	}
}
