package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	// Milliseconds keep two runs started in the same second apart; two
	// started in the same millisecond (a script starting several) take the
	// next free name.
	now := time.Now().UTC()
	base := fmt.Sprintf("roomwire_%s_%s_%03d", purpose, now.Format("20060102_150405"), now.Nanosecond()/1e6)
	for try := 0; ; try++ {
		name = base
		if try > 0 {
			name = fmt.Sprintf("%s_%d", base, try)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		cancel()
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			return name, withDatabase(serverURL, name), nil
		// duplicate_database, or a unique violation when two sessions
		// insert the same name into the catalogue at once
		case errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") && try < 20:
			continue
		case errors.As(err, &pgErr) && pgErr.Code == "42501": // insufficient_privilege
			return "", "", fmt.Errorf("create database %s on %s: %w\nThe user in DATABASE_URL needs the CREATEDB privilege", name, ServerAddr(serverURL), err)
		default:
			return "", "", fmt.Errorf("create database %s on %s: %w", name, ServerAddr(serverURL), err)
		}
	}
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
