package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/config"
)

// createScratchDatabase creates roomwire_<purpose>_<time> on the server at
// serverURL and returns its name and URL: demo, bench and chaos each start on
// a clean database and never touch a real installation's.
func createScratchDatabase(ctx context.Context, serverURL, purpose string) (name, dbURL string, err error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, serverURL)
	if err != nil {
		return "", "", fmt.Errorf("cannot reach PostgreSQL at %s: %w\nStart PostgreSQL, or set DATABASE_URL to a server where this user may create databases, e.g. %s", serverAddr(serverURL), err, config.DefaultDatabaseURL)
	}
	defer conn.Close(context.Background())
	// Milliseconds keep two runs started in the same second apart.
	now := time.Now().UTC()
	name = fmt.Sprintf("roomwire_%s_%s_%03d", purpose, now.Format("20060102_150405"), now.Nanosecond()/1e6)
	if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", "", fmt.Errorf("create database %s on %s: %w\nThe user in DATABASE_URL needs the CREATEDB privilege", name, serverAddr(serverURL), err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", "", fmt.Errorf("database.url: %w", err)
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

// dropScratchDatabase drops a database createScratchDatabase made, even with
// connections still open to it.
func dropScratchDatabase(ctx context.Context, serverURL, name string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// serverAddr names a database server without its credentials.
func serverAddr(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		return "the server in DATABASE_URL"
	}
	return u.Host
}
