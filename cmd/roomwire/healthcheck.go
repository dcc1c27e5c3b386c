package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
)

var healthcheckCommand = cli.Command{Name: "healthcheck", Summary: "check that a hub on this machine answers (for container health checks)", Run: healthcheck}

// healthcheck is for images without a shell or curl: Docker's HEALTHCHECK
// runs the binary itself.
func healthcheck(ctx context.Context, args []string) error {
	fs := cli.NewFlags("healthcheck", "[--ready] [--url URL]", `
Asks the hub at --url (default: http.addr from ROOMWIRE_HTTP_ADDR, with a
wildcard host read as 127.0.0.1) whether it is alive (/healthz) or, with
--ready, ready to serve (/readyz). Exits 0 when it is, 1 when not.`)
	ready := fs.Bool("ready", false, "check /readyz (database, broker) instead of /healthz")
	base := fs.String("url", "", "the hub's base `URL`")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	if *base == "" {
		*base = "http://" + localAddr(os.Getenv("ROOMWIRE_HTTP_ADDR"))
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *base+path, nil)
	if err != nil {
		return cli.BadUsage(fs, "--url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *base+path, resp.Status)
	}
	return nil
}

// localAddr turns a listen address into one to connect to on this machine.
func localAddr(listen string) string {
	if listen == "" {
		return "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
