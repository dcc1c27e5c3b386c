package router

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ParkedBacklog is what waits behind one circuit breaker for one consumer.
type ParkedBacklog struct {
	Consumer string
	Breaker  string
	Messages int
	Since    time.Time // when the oldest waiting message was parked
}

// ParkedBacklogs lists the breakers whose oldest parked message has waited
// longer than olderThan: partners that have been unreachable for that long.
func (b *Backbone) ParkedBacklogs(ctx context.Context, olderThan time.Duration) ([]ParkedBacklog, error) {
	rows, _ := b.pool.Query(ctx, `SELECT consumer, breaker, count(*), min(parked_at) FROM parked_messages
		GROUP BY consumer, breaker HAVING min(parked_at) <= now() - make_interval(secs => $1)
		ORDER BY consumer, breaker`, olderThan.Seconds())
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ParkedBacklog, error) {
		var p ParkedBacklog
		err := r.Scan(&p.Consumer, &p.Breaker, &p.Messages, &p.Since)
		return p, err
	})
}

// lagFreshness is how long a consumer's last hand-out tells its lag: one
// that was handed nothing for longer has nothing waiting.
const lagFreshness = 2 * time.Second

// DeliveryLag is how far delivery runs behind the commits now: of the
// consumers handed a message in the last two seconds, the longest that
// message had waited since its commit before the consumer started on it.
// It counts the work waiting for this process's consumers, not partners'
// slowness once a call is made, nor messages parked behind an open breaker
// (they are handed out, and parked, at once).
func (b *Backbone) DeliveryLag() time.Duration {
	now := time.Now().UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	var lag int64
	for _, c := range b.consumers {
		if now-c.lastHandedOut.Load() <= int64(lagFreshness) {
			lag = max(lag, c.lastWaited.Load())
		}
	}
	return time.Duration(lag)
}
