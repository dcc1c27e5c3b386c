package main

import (
	"context"
	"os"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/hub"
	"github.com/roomwire/roomwire/config"
)

var serveCommand = cli.Command{Name: "serve", Summary: "run the hub: booking API, event backbone and connectors", Run: serve}

func serve(ctx context.Context, args []string) error {
	fs := cli.NewFlags("serve", "[--config FILE] [--no-migrate]", `
Runs the hub: the booking API on http.addr, the event backbone (Kafka, or an
embedded Kafka-protocol broker when no brokers are configured) and the
connectors. SIGINT or SIGTERM stops it gracefully: in-flight requests finish.
`+cli.ConfigHelp)
	cfgPath := cli.ConfigFlag(fs)
	noMigrate := fs.Bool("no-migrate", false, "do not apply pending migrations on start")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.RequireAdminKey(); err != nil {
		return err
	}
	h, err := hub.Start(ctx, cfg, hub.NewLogger(cfg.Log, os.Stderr), hub.Options{Migrate: !*noMigrate, Version: moduleVersion()})
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Serve(ctx)
}
