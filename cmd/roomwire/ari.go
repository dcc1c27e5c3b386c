package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/hub"
)

var ariCommand = cli.Command{Name: "ari", Summary: "push availability and rates to channels (ari resync ...)", Run: runARI}

const ariDescription = `
ARI is availability, rates and inventory: what each channel may sell, at what
price. The hub pushes every change to the channels by itself; these commands
are for repairs.`

func runARI(ctx context.Context, args []string) error {
	return cli.RunSubcommand(ctx, "ari", ariDescription, []cli.Subcommand{
		{Name: "resync", Summary: "push a property's full availability and rates to its channels", Run: runResync},
	}, args)
}

func runResync(ctx context.Context, args []string) error {
	fs := cli.NewFlags("ari resync", "--property P [--channel C] --connector-config FILE [--from DATE] [--days N] [--config FILE]", `
Pushes a property's full availability (units sellable less units sold) and
rates, read from the reservation store, to every channel that takes ARI, or
to --channel alone, mapped to each channel's codes. Use it when a channel has
lost track, after adding a mapping, or when connecting a new channel.

--connector-config is a YAML file naming each channel connector instance and
its configuration, as under connectors: in serve's (keys as 'roomwire
connectors --fields' lists them; kind: names the connector of an instance
named otherwise):

  ota: {inbound_user: ..., inbound_password: ..., ari_url: https://...}
  channel-b: {kind: ota, inbound_user: ..., ari_url: https://...}
  expedia: {username: ..., password: ..., hotel_ids: ["4411903"]}

Secrets may come from the environment instead.`+cli.ConfigHelp)
	cfgPath := cli.ConfigFlag(fs)
	property := fs.String("property", "", "Roomwire property id (required)")
	channel := fs.String("channel", "", "only this channel connector")
	connCfg := fs.String("connector-config", "", "YAML `file` with the channel connectors' configuration (required)")
	mappingFile := fs.String("mappings", "", "a mapping `file` to store first")
	from := fs.String("from", "", "first night, YYYY-MM-DD (default today)")
	days := fs.Int("days", 365, "how many nights from --from")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *property == "":
		return cli.BadUsage(fs, "--property is required")
	case *connCfg == "":
		return cli.BadUsage(fs, "--connector-config is required")
	case *days < 1 || *days > 3*366:
		return cli.BadUsage(fs, "--days must be between 1 and %d, got %d", 3*366, *days)
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	first := canonical.DateOf(time.Now().UTC())
	if *from != "" {
		d, err := canonical.ParseDate(*from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		first = d
	}
	b, err := os.ReadFile(*connCfg)
	if err != nil {
		return err
	}
	var raw map[string]map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%s: %v", *connCfg, err)
	}
	if *channel != "" {
		if _, ok := raw[*channel]; !ok {
			return fmt.Errorf("%s does not configure channel %q", *connCfg, *channel)
		}
		raw = map[string]map[string]any{*channel: raw[*channel]}
	}
	cfg, pool, err := database.OpenConfigured(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer pool.Close()
	r := hub.Repair{Pool: pool, Logger: hub.NewLogger(cfg.Log, os.Stderr), MappingFile: *mappingFile, Out: os.Stdout}
	return r.Resync(ctx, raw, *property, first, first.AddDays(*days-1))
}
