package bench

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
)

// What the bench measures of PostgreSQL itself: the bare baseline (what the
// server does with a minimal booking transaction and nothing of Roomwire
// around it) and the server's WAL flushes.

// bareSetupSQL makes the bare baseline's tables in a database of their own:
// no triggers, no foreign keys, nothing of Roomwire's schema. docs/benchmarks.md
// gives the same SQL for pgbench, to check the figure with PostgreSQL's own tool.
// The tables are analyzed once filled, as pgbench -i does with its own.
const bareSetupSQL = `
CREATE TABLE inventory (prop int, night int, units int, sold int, PRIMARY KEY (prop, night));
INSERT INTO inventory SELECT p, n, 1000000, 0 FROM generate_series(1, 200) p, generate_series(1, 400) n;
CREATE TABLE reservations (id bigserial PRIMARY KEY, prop int, doc jsonb);
CREATE TABLE outbox (id bigserial PRIMARY KEY, prop int, payload jsonb, published bool DEFAULT false);
ANALYZE;`

// The bare booking transaction's statements, sent one by one between BEGIN and
// COMMIT, as pgbench sends its script: three nights of inventory, the
// reservation, and its two outbox events.
const (
	bareUpdateInventory = `UPDATE inventory SET sold = sold + 1 WHERE prop = $1 AND night BETWEEN $2 AND $2 + 2 AND sold + 1 <= units`
	bareInsertBooking   = `INSERT INTO reservations (prop, doc) VALUES ($1, '{"guest":"x","stays":[{"a":1}]}')`
	bareInsertOutbox    = `INSERT INTO outbox (prop, payload) VALUES ($1, '{"type":"reservation.created"}'), ($1, '{"type":"availability.changed"}')`
)

// bareBaseline runs the bare booking transaction on its own scratch
// database, so that it never touches (or waits on) the hub's tables.
type bareBaseline struct {
	serverURL, name, url string
	clients              []int         // the concurrencies tried
	perLevel             time.Duration // how long each concurrency runs
}

// bareLevel is what one concurrency of the bare baseline measured.
type bareLevel struct {
	Clients      int     `json:"clients"`
	TPS          float64 `json:"tps"`
	Transactions int64   `json:"transactions"`
	Failed       int64   `json:"failed"`
	// WAL flushes per committed transaction, server-wide; null when
	// pg_stat_wal could not be read.
	WALSyncsPerTransaction *float64 `json:"wal_syncs_per_transaction"`
	// CPU per committed transaction of the clients' process and, when the
	// server runs on this machine, of PostgreSQL (null otherwise).
	ProcessCPUMSPerTransaction  *float64 `json:"process_cpu_ms_per_transaction"`
	PostgresCPUMSPerTransaction *float64 `json:"postgres_cpu_ms_per_transaction"`
	firstErr                    error
}

// startBareBaseline creates the baseline's database and tables.
func startBareBaseline(ctx context.Context, serverURL string, clients []int, perLevel time.Duration) (*bareBaseline, error) {
	name, url, err := database.CreateScratch(ctx, serverURL, "bench_bare")
	if err != nil {
		return nil, err
	}
	b := &bareBaseline{serverURL: serverURL, name: name, url: url, clients: clients, perLevel: perLevel}
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		_, err = conn.Exec(ctx, bareSetupSQL)
		conn.Close(context.Background())
	}
	if err != nil {
		b.drop()
		return nil, fmt.Errorf("create the bare baseline's tables in %s: %w", name, err)
	}
	return b, nil
}

// drop drops the baseline's database.
func (b *bareBaseline) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return database.DropScratch(ctx, b.serverURL, b.name)
}

// run runs every concurrency in turn.
func (b *bareBaseline) run(ctx context.Context) ([]bareLevel, error) {
	levels := make([]bareLevel, 0, len(b.clients))
	for _, n := range b.clients {
		lv, err := b.runLevel(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("bare PostgreSQL baseline at %d clients: %w", n, err)
		}
		levels = append(levels, lv)
	}
	return levels, nil
}

// runLevel runs the transaction from n clients, each on a connection of its
// own opened before the clock starts, as pgbench does. Statements are
// prepared once per connection (pgbench -M prepared): on a 2-core machine
// that runs at or above pgbench's default, so the baseline never flatters
// the hub.
func (b *bareBaseline) runLevel(ctx context.Context, n int) (bareLevel, error) {
	lv := bareLevel{Clients: n}
	conns := make([]*pgx.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close(context.Background())
		}
	}()
	for range n {
		c, err := pgx.Connect(ctx, b.url)
		if err != nil {
			return lv, err
		}
		conns = append(conns, c)
	}
	walBefore, walErr := walSyncs(ctx, conns[0])
	cpuBefore := sampleCPU(ctx, conns[0])
	var (
		committed, failed atomic.Int64
		errOnce           sync.Once
		wg                sync.WaitGroup
		start             = time.Now()
		end               = start.Add(b.perLevel)
	)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
			for ctx.Err() == nil && time.Now().Before(end) {
				if err := bareBooking(ctx, c, rng); err != nil {
					if ctx.Err() != nil {
						return
					}
					failed.Add(1)
					errOnce.Do(func() { lv.firstErr = err })
					if c.IsClosed() {
						return
					}
					continue
				}
				committed.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return lv, err
	}
	lv.Transactions, lv.Failed = committed.Load(), failed.Load()
	lv.TPS = rig.Round(float64(lv.Transactions)/elapsed.Seconds(), 1)
	if walAfter, err := walSyncs(ctx, conns[0]); walErr == nil && err == nil && lv.Transactions > 0 {
		lv.WALSyncsPerTransaction = ptr(rig.Round(float64(walAfter-walBefore)/float64(lv.Transactions), 3))
	}
	cpu := sampleCPU(ctx, conns[0]).since(cpuBefore)
	lv.ProcessCPUMSPerTransaction = roundMS(msPer(&cpu.process, lv.Transactions))
	lv.PostgresCPUMSPerTransaction = roundMS(msPer(cpu.postgres, lv.Transactions))
	if lv.Transactions == 0 {
		return lv, fmt.Errorf("no transaction committed: %v", lv.firstErr)
	}
	return lv, nil
}

// bareBooking runs the bare booking transaction once, on a random property
// (1 to 200) and first night (1 to 390), as booking-tx.sql does in pgbench.
func bareBooking(ctx context.Context, c *pgx.Conn, rng *mrand.Rand) error {
	prop, night := 1+rng.IntN(200), 1+rng.IntN(390)
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	_, err := c.Exec(ctx, bareUpdateInventory, prop, night)
	if err == nil {
		_, err = c.Exec(ctx, bareInsertBooking, prop)
	}
	if err == nil {
		_, err = c.Exec(ctx, bareInsertOutbox, prop)
	}
	if err == nil {
		_, err = c.Exec(ctx, "COMMIT")
		return err
	}
	c.Exec(ctx, "ROLLBACK") //nolint:errcheck // the statement's error is the one to report
	return err
}

// bestBareLevel is the level with the most transactions per second.
func bestBareLevel(phases ...[]bareLevel) (bareLevel, bool) {
	var best bareLevel
	found := false
	for _, levels := range phases {
		for _, lv := range levels {
			if !found || lv.TPS > best.TPS {
				best, found = lv, true
			}
		}
	}
	return best, found
}

// parseClients parses a comma-separated list of client counts.
func parseClients(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1000 {
			return nil, fmt.Errorf("%q is not a number of clients between 1 and 1000", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// rowQuerier is what walSyncs needs of a connection or a pool.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// walSyncs reads how many times the server has flushed its WAL to disk
// (pg_stat_wal.wal_sync, PostgreSQL 14 or later). The counter is the whole
// server's: whatever else runs on it counts too.
func walSyncs(ctx context.Context, q rowQuerier) (int64, error) {
	var n int64
	if err := q.QueryRow(ctx, `SELECT wal_sync FROM pg_stat_wal`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read pg_stat_wal.wal_sync (PostgreSQL 14 or later): %w", err)
	}
	return n, nil
}
