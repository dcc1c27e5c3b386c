// Package database opens roomwire's PostgreSQL database, creating it when
// asked and allowed, and makes and drops the scratch databases the rigs run on.
package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/config"
)

// OpenConfigured loads the configuration at cfgPath and opens its database.
func OpenConfigured(ctx context.Context, cfgPath string) (*config.Config, *pgxpool.Pool, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	pool, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	return cfg, pool, nil
}

// openDatabase connects to PostgreSQL and checks that it answers.
func openDatabase(ctx context.Context, cfg config.Database) (*pgxpool.Pool, error) {
	return connectDatabase(ctx, cfg, nil)
}

// OpenOrCreate is openDatabase that, with create, first creates the
// database when it does not exist and the user may create it, and logs that
// it did.
func OpenOrCreate(ctx context.Context, cfg config.Database, create bool, logger *slog.Logger) (*pgxpool.Pool, error) {
	if !create {
		return openDatabase(ctx, cfg)
	}
	return connectDatabase(ctx, cfg, func(name, server string) {
		logger.Info("created the database, which did not exist", "database", name, "server", server)
	})
}

// OpenDelivery opens the pool of what happens after the commit
// (database.delivery_conns connections), on the database the request pool
// is open on.
func OpenDelivery(ctx context.Context, cfg config.Database) (*pgxpool.Pool, error) {
	cfg.MaxConns = cfg.DeliveryConns
	return openDatabase(ctx, cfg)
}

func connectDatabase(ctx context.Context, cfg config.Database, created func(name, server string)) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("database.url: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	err = pingPool(ctx, pool)
	if err != nil && created != nil && isMissingDatabase(err) {
		if cerr := createDatabase(ctx, cfg.URL); cerr != nil {
			pool.Close()
			return nil, cerr
		}
		created(pc.ConnConfig.Database, ServerAddr(cfg.URL))
		err = pingPool(ctx, pool)
	}
	if err != nil {
		pool.Close()
		return nil, explainConnectError(cfg.URL, err)
	}
	return pool, nil
}

func pingPool(ctx context.Context, pool *pgxpool.Pool) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return pool.Ping(pctx)
}

// PostgreSQL's SQLSTATE codes for a connection refused by the server.
const (
	sqlstateNoDatabase  = "3D000" // invalid_catalog_name
	sqlstateNoRole      = "28000" // invalid_authorization_specification
	sqlstateBadPassword = "28P01" // invalid_password
	sqlstateNoPrivilege = "42501" // insufficient_privilege
	maintenanceDatabase = "postgres"
)

var databaseURLHelpLater = "set DATABASE_URL (or database.url), e.g. " + config.DefaultDatabaseURL

func isMissingDatabase(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == sqlstateNoDatabase
}

// explainConnectError tells a server that does not answer apart from one
// that answers but has no such database or role, or refuses the password:
// each has its own fix.
func explainConnectError(dbURL string, err error) error {
	server, user, db := ServerAddr(dbURL), "", ""
	if c, perr := pgx.ParseConfig(dbURL); perr == nil {
		user, db = c.User, c.Database
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return fmt.Errorf("cannot reach PostgreSQL at %s: %w\nStart PostgreSQL, or %s", server, err, databaseURLHelpLater)
	}
	switch pe.Code {
	case sqlstateNoDatabase:
		return fmt.Errorf("PostgreSQL at %s has no database %q: run 'roomwire migrate', which creates it when user %q may (CREATEDB), or create it: createdb -h %s -U %s %s",
			server, db, user, strings.Split(server, ":")[0], user, db)
	case sqlstateNoRole:
		if strings.Contains(pe.Message, "role") {
			return fmt.Errorf("PostgreSQL at %s has no role (user) %q: create it (CREATE ROLE %s LOGIN CREATEDB PASSWORD '...') or put another user in DATABASE_URL", server, user, user)
		}
		return fmt.Errorf("PostgreSQL at %s refused user %q: %s (check pg_hba.conf, or the user in DATABASE_URL)", server, user, pe.Message)
	case sqlstateBadPassword:
		// The server answers a missing role with this too, so as not to tell who exists.
		return fmt.Errorf("PostgreSQL at %s refused the password of user %q, or has no such role (it does not say which): put the right user and password in DATABASE_URL (postgres://USER:PASSWORD@%s/%s)", server, user, server, db)
	}
	return fmt.Errorf("PostgreSQL at %s refused the connection: %s (SQLSTATE %s)", server, pe.Message, pe.Code)
}

// createDatabase creates the database dbURL names, connecting to the
// server's maintenance database to do it.
func createDatabase(ctx context.Context, dbURL string) error {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return fmt.Errorf("database.url: %w", err)
	}
	name := cfg.Database
	conn, err := ConnectServer(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == sqlstateNoPrivilege {
			return fmt.Errorf("PostgreSQL at %s has no database %q and user %q may not create it: ask for it (CREATE DATABASE %s OWNER %s), or point DATABASE_URL at an existing database",
				ServerAddr(dbURL), name, cfg.User, name, cfg.User)
		}
		if errors.As(err, &pe) && pe.Code == "42P04" { // duplicate_database: another process made it meanwhile
			return nil
		}
		return fmt.Errorf("create database %s on %s: %w", name, ServerAddr(dbURL), err)
	}
	return nil
}

// ConnectServer opens a connection for server-wide work (creating and
// dropping databases): to the database dbURL names, or to the maintenance
// database when that one does not exist yet.
func ConnectServer(ctx context.Context, dbURL string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dbURL)
	if err != nil && isMissingDatabase(err) {
		conn, err = pgx.Connect(cctx, withDatabase(dbURL, maintenanceDatabase))
	}
	if err != nil {
		return nil, explainConnectError(dbURL, err)
	}
	return conn, nil
}

// withDatabase returns dbURL naming another database on the same server.
func withDatabase(dbURL, name string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	u.Path = "/" + name
	return u.String()
}

// ServerAddr names a database server without its credentials.
func ServerAddr(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		return "the server in DATABASE_URL"
	}
	return u.Host
}
