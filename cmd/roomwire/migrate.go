package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/hub"
	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/reservations/schema"
)

var migrateCommand = cli.Command{Name: "migrate", Summary: "apply pending database migrations (or list them: migrate status, --dry-run)", Run: migrate}

func migrate(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "status" {
		return migrateStatus(ctx, args[1:])
	}
	fs := cli.NewFlags("migrate", "[status] [--dry-run] [--config FILE]", `
Applies the database migrations that are not applied yet, in order, each in
its own transaction, and exits. Safe to run from several processes at once.
When the database in DATABASE_URL does not exist, migrate creates it if the
user may (CREATEDB), and says so; otherwise it says what to ask for.

With --dry-run it lists the migrations it would apply and changes nothing.
'roomwire migrate status' lists every migration, applied or pending.`+cli.ConfigHelp)
	cfgPath := cli.ConfigFlag(fs)
	dryRun := fs.Bool("dry-run", false, "list the pending migrations without applying them")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	if *dryRun {
		_, pool, err := database.OpenConfigured(ctx, *cfgPath)
		if err != nil {
			return err
		}
		defer pool.Close()
		states, _, err := schema.Status(ctx, pool)
		if err != nil {
			return err
		}
		n := 0
		for _, s := range states {
			if s.AppliedAt.IsZero() {
				fmt.Println("would apply", s.Name)
				n++
			}
		}
		if n == 0 {
			fmt.Println("The database is up to date; nothing to apply.")
		}
		return nil
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	pool, err := database.OpenOrCreate(ctx, cfg.Database, true, hub.NewLogger(cfg.Log, os.Stderr))
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := schema.Migrate(ctx, pool)
	for _, m := range applied {
		fmt.Println("applied", m)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Println("The database is up to date.")
	}
	return nil
}

func migrateStatus(ctx context.Context, args []string) error {
	fs := cli.NewFlags("migrate status", "[--config FILE]", `
Lists every migration this build knows, with the package that owns it and
when it was applied or that it is pending, and any migration the database has that this build does not know
(applied by a newer Roomwire). Changes nothing.`+cli.ConfigHelp)
	cfgPath := cli.ConfigFlag(fs)
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	_, pool, err := database.OpenConfigured(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer pool.Close()
	states, unknown, err := schema.Status(ctx, pool)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MIGRATION\tPACKAGE\tSTATUS")
	pending := 0
	for _, s := range states {
		status := "applied " + s.AppliedAt.Local().Format("2006-01-02 15:04:05")
		if s.AppliedAt.IsZero() {
			status = "pending"
			pending++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Owner, status)
	}
	for _, v := range unknown {
		fmt.Fprintf(tw, "%04d\t\tapplied, unknown to this build (a newer Roomwire?)\n", v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Printf("%d applied, %d pending.\n", len(states)-pending, pending)
	return nil
}
