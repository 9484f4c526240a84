// The health probe dockergen builds beside the app (dockergen.yml `health`): the runtime image is
// scratch, with no shell or client to probe with, and the app's own code is never changed.
//
//	healthcheck http://127.0.0.1:8080/status   exit 0 when GET answers below 400
//	healthcheck tcp://127.0.0.1:8080           exit 0 when the port accepts a connection
//
// Standard library only. The leading underscore of its folder keeps it out of `go build ./...`.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: healthcheck http://HOST:PORT/PATH | tcp://HOST:PORT")
		os.Exit(2)
	}
	target := os.Args[1]
	if address, ok := strings.CutPrefix(target, "tcp://"); ok {
		conn, err := net.DialTimeout("tcp", address, 2*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		conn.Close()
		return
	}
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(target)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		fmt.Fprintln(os.Stderr, resp.Status)
		os.Exit(1)
	}
}
