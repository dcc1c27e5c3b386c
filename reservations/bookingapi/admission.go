package bookingapi

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WriteAdmission paces booking writes (creates, modifications and
// cancellations) by how far delivery runs behind the commits. A channel
// manager had rather take bookings a little slower than let channels sell
// rooms that are gone: while delivery is further behind than MaxLag, fewer
// writes are let through at a time, down to none once it stays behind for
// about a second, and as it catches up, more again, up to MaxWrites. A
// write waits its turn at most MaxWait, then is refused with 503
// unavailable and Retry-After.
type WriteAdmission struct {
	// DeliveryLag says how far behind the commits delivery runs now.
	// Admission is off without it, or without MaxLag.
	DeliveryLag func() time.Duration
	MaxLag      time.Duration
	MaxWait     time.Duration
	// MaxWrites is how many writes run at once while delivery keeps up.
	MaxWrites int
}

// admissionStep is how often the number of writes let through at once
// follows the lag: down by a quarter while delivery is behind (below one:
// none), up by one while it keeps up.
const admissionStep = 100 * time.Millisecond

// minAdmissionLimit is where the limit stops falling: one step of catching
// up lets writes through again.
const minAdmissionLimit = 0.5

// admission lets booking writes through, at most limit at a time, in the
// order they came.
type admission struct {
	cfg WriteAdmission

	mu       sync.Mutex
	limit    float64
	running  int
	waiting  []chan struct{}
	adjusted time.Time

	limitGauge prometheus.Gauge
	refused    prometheus.Counter
}

func newAdmission(cfg WriteAdmission, reg prometheus.Registerer) (*admission, error) {
	if cfg.DeliveryLag == nil || cfg.MaxLag <= 0 {
		return nil, nil
	}
	cfg.MaxWrites = max(cfg.MaxWrites, 1)
	a := &admission{
		cfg:   cfg,
		limit: float64(cfg.MaxWrites),
		limitGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomwire_booking_write_limit",
			Help: "Booking writes let through at once: lowered while delivery runs further behind the commits than http.max_delivery_lag.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roomwire_booking_writes_refused_total",
			Help: "Booking writes refused with 503 after waiting http.admission_wait for delivery to catch up.",
		}),
	}
	a.limitGauge.Set(a.limit)
	if reg != nil {
		for _, c := range []prometheus.Collector{a.limitGauge, a.refused} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

// guard makes h wait for admission. A nil admission lets everything through.
func (a *admission) guard(h http.Handler) http.Handler {
	if a == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.acquire(r.Context()) {
			a.refused.Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(max(time.Second, a.cfg.MaxLag).Round(time.Second)/time.Second)))
			WriteProblem(w, r, http.StatusServiceUnavailable, CodeUnavailable,
				"Roomwire is still telling channels and the PMS of earlier bookings; send this one again after Retry-After seconds")
			return
		}
		defer a.release()
		h.ServeHTTP(w, r)
	})
}

// acquire waits for the write's turn: false when it did not come within
// MaxWait or ctx ended first.
func (a *admission) acquire(ctx context.Context) bool {
	a.mu.Lock()
	a.adjust()
	if len(a.waiting) == 0 && a.running < a.allowed() {
		a.running++
		a.mu.Unlock()
		return true
	}
	turn := make(chan struct{})
	a.waiting = append(a.waiting, turn)
	a.mu.Unlock()

	timer := time.NewTimer(a.cfg.MaxWait)
	defer timer.Stop()
	// The lag is followed while writes wait, not only as others end.
	tick := time.NewTicker(admissionStep)
	defer tick.Stop()
	for {
		select {
		case <-turn:
			return true
		case <-tick.C:
			a.mu.Lock()
			a.adjust()
			a.mu.Unlock()
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		break
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, w := range a.waiting {
		if w == turn {
			a.waiting = append(a.waiting[:i], a.waiting[i+1:]...)
			return false
		}
	}
	return true // its turn came as it gave up: take it
}

func (a *admission) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.running--
	a.adjust()
}

// allowed is how many writes may run at once now. It is none only while
// delivery stays behind; DeliveryLag forgets a consumer handed nothing for
// a while, so a stalled consumer does not hold writes for ever.
func (a *admission) allowed() int { return int(a.limit) }

// adjust follows the lag once per admissionStep and hands turns to the
// writes waiting, oldest first. a.mu is held.
func (a *admission) adjust() {
	if now := time.Now(); now.Sub(a.adjusted) >= admissionStep {
		a.adjusted = now
		if a.cfg.DeliveryLag() > a.cfg.MaxLag {
			a.limit = max(minAdmissionLimit, a.limit*0.75)
		} else {
			a.limit = min(float64(a.cfg.MaxWrites), a.limit+1)
		}
		a.limitGauge.Set(a.limit)
	}
	for len(a.waiting) > 0 && a.running < a.allowed() {
		close(a.waiting[0])
		a.waiting = a.waiting[1:]
		a.running++
	}
}
