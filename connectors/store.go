package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
)

// NewResources returns the shared resources backed by pool, whose schema must
// be migrated (schema.Migrate applies the SDK's tables, registered in schema.go).
func NewResources(pool *pgxpool.Pool, logger *slog.Logger) Resources {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return Resources{Logger: logger, Mappings: NewMappings(pool), Links: NewLinks(pool), Receipts: NewReceipts(pool)}
}

// ErrNoLink means Roomwire has no partner ids for a reservation.
var ErrNoLink = errors.New("no partner ids for this reservation")

// Link is a Roomwire reservation and its partner's ids.
type Link struct {
	Connector      string
	ReservationID  string
	PartnerGroupID string   // the partner's id of the whole booking, if it has one
	PartnerIDs     []string // the partner's per-room ids, in room-stay order
	SyncedVersion  int      // the Roomwire version the partner has
	Origin         Origin
}

// Origin says who made a linked booking.
type Origin string

// The origins.
const (
	OriginRoomwire Origin = "roomwire" // Roomwire created it at the partner
	OriginPartner  Origin = "partner"  // the partner sent it to Roomwire
)

// Links keeps partner ids against Roomwire reservation ids, in PostgreSQL.
type Links struct{ pool *pgxpool.Pool }

// NewLinks returns the links store on pool.
func NewLinks(pool *pgxpool.Pool) *Links { return &Links{pool: pool} }

// Get returns the link of a Roomwire reservation, or ErrNoLink.
func (l *Links) Get(ctx context.Context, connector, reservationID string) (*Link, error) {
	return l.scan(l.pool.QueryRow(ctx, `SELECT connector, reservation_id::text, partner_group_id, partner_ids, synced_version, origin
		FROM connector_links WHERE connector = $1 AND reservation_id = $2`, connector, reservationID))
}

// FindByPartnerID returns the link holding one of the partner's ids, or ErrNoLink.
func (l *Links) FindByPartnerID(ctx context.Context, connector, partnerID string) (*Link, error) {
	return l.scan(l.pool.QueryRow(ctx, `SELECT connector, reservation_id::text, partner_group_id, partner_ids, synced_version, origin
		FROM connector_links WHERE connector = $1 AND partner_ids @> ARRAY[$2]::text[] LIMIT 1`, connector, partnerID))
}

func (l *Links) scan(row pgx.Row) (*Link, error) {
	var k Link
	err := row.Scan(&k.Connector, &k.ReservationID, &k.PartnerGroupID, &k.PartnerIDs, &k.SyncedVersion, &k.Origin)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoLink
	}
	if err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	return &k, nil
}

// Put records a link. The synced version never goes back, so a late
// redelivery of an old event cannot make a newer one look unsent.
//
// Under a flush promise (a router consumer's delivery) the link commits
// without waiting for the WAL flush: the delivery's dedup record commits
// with one before the message is acknowledged, and flushes the link with
// it. Losing the link loses the acknowledgement too, and the redelivery
// calls the partner again under the same idempotency key. Elsewhere it
// commits durably: a link lost after the partner call was acknowledged
// would make the next event of the reservation book it again.
func (l *Links) Put(ctx context.Context, k Link) error {
	if k.PartnerIDs == nil {
		k.PartnerIDs = []string{}
	}
	if k.Origin == "" {
		k.Origin = OriginRoomwire
	}
	const put = `
		INSERT INTO connector_links (connector, reservation_id, partner_group_id, partner_ids, synced_version, origin)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (connector, reservation_id) DO UPDATE SET
			partner_group_id = CASE WHEN $3 = '' THEN connector_links.partner_group_id ELSE $3 END,
			partner_ids = CASE WHEN cardinality($4::text[]) = 0 THEN connector_links.partner_ids ELSE $4 END,
			synced_version = greatest(connector_links.synced_version, $5),
			updated_at = now()`
	args := []any{k.Connector, k.ReservationID, k.PartnerGroupID, k.PartnerIDs, k.SyncedVersion, string(k.Origin)}
	var err error
	if canonical.RelyOnFlushPromise(ctx) {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue("SET LOCAL synchronous_commit TO off")
		b.Queue(put, args...)
		b.Queue("COMMIT")
		err = l.pool.SendBatch(ctx, b).Close()
	} else {
		_, err = l.pool.Exec(ctx, put, args...)
	}
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	return nil
}

// Receipts remembers partner message ids already made durable, so that a
// partner's repeated delivery is acknowledged without doing the work again.
type Receipts struct{ pool *pgxpool.Pool }

// NewReceipts returns the receipts store on pool.
func NewReceipts(pool *pgxpool.Pool) *Receipts { return &Receipts{pool: pool} }

// Seen reports whether the message id was recorded.
func (r *Receipts) Seen(ctx context.Context, connector, messageID string) (bool, error) {
	var one int
	err := r.pool.QueryRow(ctx, `SELECT 1 FROM connector_receipts WHERE connector = $1 AND message_id = $2`, connector, messageID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("receipts: %w", err)
	}
	return true, nil
}

// Record remembers the message id. Record it only once the message is
// durable: a crash in between makes the partner's retry do the work again,
// which the idempotent applier absorbs.
func (r *Receipts) Record(ctx context.Context, connector, messageID string) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO connector_receipts (connector, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, connector, messageID)
	if err != nil {
		return fmt.Errorf("receipts: %w", err)
	}
	return nil
}

// Prune forgets receipts older than age; partners stop retrying long before.
func (r *Receipts) Prune(ctx context.Context, age time.Duration) (int64, error) {
	tag, err := r.pool.Exec(ctx, `DELETE FROM connector_receipts WHERE received_at < now() - make_interval(secs => $1)`, age.Seconds())
	if err != nil {
		return 0, fmt.Errorf("receipts: %w", err)
	}
	return tag.RowsAffected(), nil
}
