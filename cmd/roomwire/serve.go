package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/roomwire/roomwire/config"
)

func init() {
	register(command{name: "serve", summary: "run the hub: booking API, event backbone and connectors", run: serve})
}

const configHelp = `
Configuration comes from the file named by --config (or ROOMWIRE_CONFIG), then
the environment: DATABASE_URL, ROOMWIRE_HTTP_ADDR, ROOMWIRE_ADMIN_KEY,
ROOMWIRE_STATE_DIR, ROOMWIRE_KAFKA_BROKERS, ROOMWIRE_LOG_LEVEL, ...
See config/roomwire.example.yaml for every key and its default.`

func configFlag(fs interface {
	StringVar(*string, string, string, string)
}) *string {
	path := new(string)
	fs.StringVar(path, "config", os.Getenv("ROOMWIRE_CONFIG"), "YAML configuration `file` (env ROOMWIRE_CONFIG)")
	return path
}

func serve(ctx context.Context, args []string) error {
	fs := newFlags("serve", "[--config FILE] [--no-migrate]", `
Runs the hub: the booking API on http.addr, the event backbone (Kafka, or an
embedded Kafka-protocol broker when no brokers are configured) and the
connectors. SIGINT or SIGTERM stops it gracefully: in-flight requests finish.
`+configHelp)
	cfgPath := configFlag(fs)
	noMigrate := fs.Bool("no-migrate", false, "do not apply pending migrations on start")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.RequireAdminKey(); err != nil {
		return err
	}
	logger := newLogger(cfg.Log)
	h, err := startHub(ctx, cfg, logger, hubOptions{migrate: !*noMigrate})
	if err != nil {
		return err
	}
	defer h.close()
	// The hub's work stops after the HTTP server has let in-flight requests
	// finish, so that what they publish still reaches Kafka.
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.run(hubCtx) }()
	httpCtx, stopHTTP := context.WithCancel(ctx)
	defer stopHTTP()
	go func() {
		select {
		case err := <-hubDone:
			hubDone <- err // for the wait below
			if err != nil {
				logger.Error("the hub stopped; shutting down", "error", err)
			}
			stopHTTP()
		case <-httpCtx.Done():
		}
	}()
	serveErr := serveHTTP(httpCtx, cfg.HTTP, h.api, logger)
	stopHub()
	if err := <-hubDone; err != nil {
		return err
	}
	return serveErr
}

// serveHTTP serves h until ctx ends, then lets in-flight requests finish.
func serveHTTP(ctx context.Context, cfg config.HTTP, h http.Handler, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another roomwire running? set ROOMWIRE_HTTP_ADDR to another port)", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("roomwire is serving", "addr", "http://"+ln.Addr().String(), "version", moduleVersion())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: letting in-flight requests finish", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

func newLogger(cfg config.Log) *slog.Logger { return newLoggerTo(cfg, os.Stderr) }

// newLoggerTo logs to w at the configured level, as text or JSON. JSON gives
// durations as <key>_ms in milliseconds: slog would write nanoseconds, which
// no one reads at a glance.
func newLoggerTo(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Level)) //nolint:errcheck // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				ms := float64(a.Value.Duration().Microseconds()) / 1000
				return slog.Float64(a.Key+"_ms", ms)
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
