package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// hub is one running Roomwire: the store, the booking API and everything
// mounted on it. serve, demo and bench all run the same hub.
type hub struct {
	cfg    *config.Config
	logger *slog.Logger
	pool   *pgxpool.Pool
	store  *reservations.Store
	api    *bookingapi.API
}

type hubOptions struct {
	migrate bool // apply pending migrations (if the config allows it)
}

// startHub connects to the database, migrates it and builds the API. The
// caller serves h.api and calls h.close when done.
func startHub(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts hubOptions) (*hub, error) {
	pool, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	h := &hub{cfg: cfg, logger: logger, pool: pool}
	if opts.migrate && *cfg.Database.MigrateOnStart {
		applied, err := reservations.Migrate(ctx, pool)
		if err != nil {
			h.close()
			return nil, err
		}
		if len(applied) > 0 {
			logger.Info("applied migrations", "migrations", strings.Join(applied, ", "))
		}
	}
	h.store = reservations.New(pool)
	h.api, err = bookingapi.New(bookingapi.Config{
		AdminKey:       cfg.HTTP.AdminKey,
		MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
		RequestTimeout: cfg.HTTP.RequestTimeout,
	}, h.store, logger)
	if err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// close releases what startHub acquired, in reverse order.
func (h *hub) close() {
	if h.pool != nil {
		h.pool.Close()
	}
}
