package database

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CreateScratch creates roomwire_<purpose>_<time> on the server at
// serverURL and returns its name and URL: demo, bench and chaos each start on
// a clean database and never touch a real installation's.
func CreateScratch(ctx context.Context, serverURL, purpose string) (name, dbURL string, err error) {
	conn, err := ConnectServer(ctx, serverURL)
	if err != nil {
		return "", "", err
	}
	defer conn.Close(context.Background())
	// Milliseconds keep two runs started in the same second apart.
	now := time.Now().UTC()
	name = fmt.Sprintf("roomwire_%s_%s_%03d", purpose, now.Format("20060102_150405"), now.Nanosecond()/1e6)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", "", fmt.Errorf("create database %s on %s: %w\nThe user in DATABASE_URL needs the CREATEDB privilege", name, ServerAddr(serverURL), err)
	}
	return name, withDatabase(serverURL, name), nil
}

// DropScratch drops a database CreateScratch made, even with
// connections still open to it.
func DropScratch(ctx context.Context, serverURL, name string) error {
	conn, err := ConnectServer(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
