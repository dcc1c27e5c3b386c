package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sony/gobreaker/v2"
)

// Breakers holds one circuit breaker per partner (or per whatever key a
// consumer's WithBreakerKey returns), shared by every consumer calling that
// partner. Breakers live in process memory: each process learns of a
// partner's outage on its own, which costs a few failed calls per process.
type Breakers struct {
	cfg     BreakerConfig
	metrics *Metrics
	logger  *slog.Logger

	mu       sync.Mutex
	breakers map[string]*gobreaker.CircuitBreaker[struct{}]
}

func newBreakers(cfg BreakerConfig, metrics *Metrics, logger *slog.Logger) *Breakers {
	cfg.setDefaults()
	return &Breakers{cfg: cfg, metrics: metrics, logger: logger, breakers: map[string]*gobreaker.CircuitBreaker[struct{}]{}}
}

func (b *Breakers) get(key string) *gobreaker.CircuitBreaker[struct{}] {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cb, ok := b.breakers[key]; ok {
		return cb
	}
	cfg := b.cfg
	cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        key,
		MaxRequests: cfg.HalfOpenRequests,
		Timeout:     cfg.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.ConsecutiveFailures },
		// A permanent error is the partner answering "no": it is up.
		IsSuccessful: func(err error) bool { return err == nil || IsPermanent(err) },
		// Our own shutdown says nothing about the partner.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			b.logger.Warn("circuit breaker changed state", "breaker", name, "from", from.String(), "to", to.String())
			if b.metrics != nil {
				b.metrics.breakerState.WithLabelValues(name).Set(float64(to))
			}
		},
	})
	if b.metrics != nil {
		b.metrics.breakerState.WithLabelValues(key).Set(float64(gobreaker.StateClosed))
	}
	b.breakers[key] = cb
	return cb
}

// State returns the state of the breaker for key: "closed", "half-open" or
// "open" ("closed" for a key never used).
func (b *Breakers) State(key string) string {
	b.mu.Lock()
	cb, ok := b.breakers[key]
	b.mu.Unlock()
	if !ok {
		return gobreaker.StateClosed.String()
	}
	return cb.State().String()
}

// openCount returns how many breakers are open.
func (b *Breakers) openCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, cb := range b.breakers {
		if cb.State() == gobreaker.StateOpen {
			n++
		}
	}
	return n
}

// isOpen reports whether calls under key would be refused right now.
func (b *Breakers) isOpen(key string) bool {
	return b.State(key) == gobreaker.StateOpen.String()
}

// call runs fn under the breaker for key. A refused call returns an error
// wrapping ErrBreakerOpen without running fn.
func (b *Breakers) call(key string, fn func() error) error {
	_, err := b.get(key).Execute(func() (struct{}, error) { return struct{}{}, fn() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return fmt.Errorf("%w: %s", ErrBreakerOpen, key)
	}
	return err
}
