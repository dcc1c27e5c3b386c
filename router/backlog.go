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
