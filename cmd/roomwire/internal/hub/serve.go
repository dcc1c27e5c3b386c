package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/roomwire/roomwire/config"
)

// Serve runs the hub and serves its API on http.addr until ctx ends, then
// lets in-flight requests finish.
func (h *Hub) Serve(ctx context.Context) error {
	// The hub's work stops after the HTTP server has let in-flight requests
	// finish, so that what they publish still reaches Kafka.
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Run(hubCtx) }()
	httpCtx, stopHTTP := context.WithCancel(ctx)
	defer stopHTTP()
	go func() {
		select {
		case err := <-hubDone:
			hubDone <- err // for the wait below
			if err != nil {
				h.logger.Error("the hub stopped; shutting down", "error", err)
			}
			stopHTTP()
		case <-httpCtx.Done():
		}
	}()
	serveErr := serveHTTP(httpCtx, h.cfg.HTTP, h.API, h.logger, h.version)
	stopHub()
	if err := <-hubDone; err != nil {
		return err
	}
	return serveErr
}

// serveHTTP serves h until ctx ends, then lets in-flight requests finish.
func serveHTTP(ctx context.Context, cfg config.HTTP, h http.Handler, logger *slog.Logger, version string) error {
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
	logger.Info("roomwire is serving", "addr", "http://"+ln.Addr().String(), "version", version)
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

// NewLogger logs to w at the configured level, as text or JSON. JSON gives
// durations as <key>_ms in milliseconds: slog would write nanoseconds, which
// no one reads at a glance.
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
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
