package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/hub"
	"github.com/roomwire/roomwire/connectors"
)

var connectorsCommand = cli.Command{Name: "connectors", Summary: "list the registered connectors, or backfill from one", Run: runConnectors}

func runConnectors(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "backfill" {
		return runBackfill(ctx, args[1:])
	}
	fs := cli.NewFlags("connectors", "[--fields] | backfill ...", `
Lists the connectors built into this binary with their capabilities
(reservations.inbound, reservations.outbound, ari.inbound, ari.outbound,
payments, reservations.reports). With --fields, also each connector's
configuration keys.

Each entry under connectors: in the configuration is an instance: its key
names it, and kind: names the connector (default: the key), so two OpenTravel
channels are two instances of kind ota. An instance named apart from its kind
reads its secrets from ROOMWIRE_<NAME>_<KEY> (for channel-b:
ROOMWIRE_CHANNEL_B_INBOUND_PASSWORD) instead of the variables listed here.

'roomwire connectors backfill --help' describes the backfill.`)
	fields := fs.Bool("fields", false, "also list each connector's configuration keys")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tCAPABILITIES\tSUMMARY")
	for _, s := range connectors.Specs() {
		caps := make([]string, len(s.Capabilities))
		for i, c := range s.Capabilities {
			caps[i] = string(c)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, strings.Join(caps, ","), s.Summary)
		if *fields {
			// Each line is the connector's spec (its Config's tags), as
			// config/roomwire.example.yaml is the hub's.
			for _, f := range s.Fields {
				doc := f.Doc()
				if f.Default != "" {
					doc += "; default " + f.Default
				}
				if f.Env != "" {
					doc += "; env " + f.Env
				}
				fmt.Fprintf(w, "  %s\t%s\t%s\n", f.Name, f.Type, doc)
			}
		}
	}
	return w.Flush()
}

func runBackfill(ctx context.Context, args []string) error {
	fs := cli.NewFlags("connectors backfill", "--connector NAME --from DATE --to DATE --connector-config FILE [--config FILE]", `
Reads every reservation staying between --from and --to from the partner and
applies those Roomwire does not have, straight to the reservation store (the
applier is idempotent, so running it again is harmless). The connector's
configuration is the YAML file --connector-config (its keys as listed by
'roomwire connectors --fields', and kind: for an instance named apart from
its connector); secrets may come from the environment.`+cli.ConfigHelp)
	cfgPath := cli.ConfigFlag(fs)
	name := fs.String("connector", "", "connector instance to backfill from (required)")
	from := fs.String("from", "", "first night, YYYY-MM-DD (required)")
	to := fs.String("to", "", "last night, YYYY-MM-DD (required)")
	connCfg := fs.String("connector-config", "", "YAML `file` with the connector's configuration")
	mappingFile := fs.String("mappings", "", "a mapping `file` to store before backfilling")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	for _, req := range []struct{ flag, value string }{{"--connector", *name}, {"--from", *from}, {"--to", *to}} {
		if req.value == "" {
			return cli.BadUsage(fs, "%s is required", req.flag)
		}
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	fromDate, err := canonical.ParseDate(*from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	toDate, err := canonical.ParseDate(*to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	raw := map[string]any{}
	if *connCfg != "" {
		b, err := os.ReadFile(*connCfg)
		if err != nil {
			return err
		}
		if err := yaml.Unmarshal(b, &raw); err != nil {
			return fmt.Errorf("%s: %v", *connCfg, err)
		}
	}
	cfg, pool, err := database.OpenConfigured(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer pool.Close()
	r := hub.Repair{Pool: pool, Logger: hub.NewLogger(cfg.Log, os.Stderr), MappingFile: *mappingFile, Out: os.Stdout}
	return r.Backfill(ctx, *name, raw, fromDate, toDate)
}
