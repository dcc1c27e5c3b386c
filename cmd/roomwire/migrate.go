package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/reservations"
)

func init() {
	register(command{name: "migrate", summary: "apply pending database migrations (or list them: migrate status, --dry-run)", run: migrate})
}

func migrate(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "status" {
		return migrateStatus(ctx, args[1:])
	}
	fs := newFlags("migrate", "[status] [--dry-run] [--config FILE]", `
Applies the database migrations that are not applied yet, in order, each in
its own transaction, and exits. Safe to run from several processes at once.
When the database in DATABASE_URL does not exist, migrate creates it if the
user may (CREATEDB), and says so; otherwise it says what to ask for.

With --dry-run it lists the migrations it would apply and changes nothing.
'roomwire migrate status' lists every migration, applied or pending.`+configHelp)
	cfgPath := configFlag(fs)
	dryRun := fs.Bool("dry-run", false, "list the pending migrations without applying them")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *dryRun {
		_, pool, err := openConfiguredDatabase(ctx, *cfgPath)
		if err != nil {
			return err
		}
		defer pool.Close()
		states, _, err := reservations.MigrationStatus(ctx, pool)
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
	pool, err := openOrCreateDatabase(ctx, cfg.Database, true, newLogger(cfg.Log))
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := reservations.Migrate(ctx, pool)
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
	fs := newFlags("migrate status", "[--config FILE]", `
Lists every migration this build knows, with when it was applied or that it
is pending, and any migration the database has that this build does not know
(applied by a newer Roomwire). Changes nothing.`+configHelp)
	cfgPath := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	_, pool, err := openConfiguredDatabase(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer pool.Close()
	states, unknown, err := reservations.MigrationStatus(ctx, pool)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MIGRATION\tSTATUS")
	pending := 0
	for _, s := range states {
		status := "applied " + s.AppliedAt.Local().Format("2006-01-02 15:04:05")
		if s.AppliedAt.IsZero() {
			status = "pending"
			pending++
		}
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, status)
	}
	for _, v := range unknown {
		fmt.Fprintf(tw, "%04d\tapplied, unknown to this build (a newer Roomwire?)\n", v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Printf("%d applied, %d pending.\n", len(states)-pending, pending)
	return nil
}
