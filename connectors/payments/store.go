package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

// errConflict means another worker changed the payment meanwhile; the
// caller reloads it and works out its plan again.
var errConflict = errors.New("payment changed concurrently")

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const stateColumns = `reservation_id::text, property_id, gateway, status, reference, currency, amount_due, authorized,
	captured, refunded, token_hash, card_mask, hold_expires_at, reservation_version, declined, attention, version,
	created_at, updated_at`

// loadState returns the payment of a reservation, or nil when it has none.
func loadState(ctx context.Context, q querier, reservationID string) (*State, error) {
	st, err := scanState(q.QueryRow(ctx, `SELECT `+stateColumns+` FROM payments WHERE reservation_id = $1`, reservationID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("payments: load %s: %w", reservationID, err)
	}
	return st, nil
}

func scanState(row pgx.Row) (*State, error) {
	var st State
	var status string
	err := row.Scan(&st.ReservationID, &st.PropertyID, &st.Gateway, &status, &st.Reference, &st.Currency, &st.AmountDue,
		&st.Authorized, &st.Captured, &st.Refunded, &st.TokenHash, &st.CardMask, &st.HoldExpiresAt, &st.ReservationVersion,
		&st.Declined, &st.Attention, &st.Version, &st.CreatedAt, &st.UpdatedAt)
	st.Status = canonical.PaymentStatus(status)
	return &st, err
}

// saveState inserts st (Version 0) or updates it if its row is still at
// st.Version, and raises st.Version. A row changed meanwhile is errConflict.
func saveState(ctx context.Context, tx pgx.Tx, st *State, now time.Time) error {
	var tag interface{ RowsAffected() int64 }
	var err error
	if st.Version == 0 {
		tag, err = tx.Exec(ctx, `INSERT INTO payments (reservation_id, property_id, gateway, status, reference, currency,
				amount_due, authorized, captured, refunded, token_hash, card_mask, hold_expires_at, reservation_version,
				declined, attention, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $17)
			ON CONFLICT (reservation_id) DO NOTHING`,
			st.ReservationID, st.PropertyID, st.Gateway, string(st.Status), st.Reference, st.Currency, st.AmountDue,
			st.Authorized, st.Captured, st.Refunded, st.TokenHash, st.CardMask, st.HoldExpiresAt, st.ReservationVersion,
			st.Declined, st.Attention, now)
	} else {
		tag, err = tx.Exec(ctx, `UPDATE payments SET gateway = $2, status = $3, reference = $4, currency = $5, amount_due = $6,
				authorized = $7, captured = $8, refunded = $9, token_hash = $10, card_mask = $11, hold_expires_at = $12,
				reservation_version = $13, declined = $14, attention = $15, version = version + 1, updated_at = $16
			WHERE reservation_id = $1 AND version = $17`,
			st.ReservationID, st.Gateway, string(st.Status), st.Reference, st.Currency, st.AmountDue,
			st.Authorized, st.Captured, st.Refunded, st.TokenHash, st.CardMask, st.HoldExpiresAt,
			st.ReservationVersion, st.Declined, st.Attention, now, st.Version)
	}
	if err != nil {
		return fmt.Errorf("payments: save %s: %w", st.ReservationID, err)
	}
	if tag.RowsAffected() == 0 {
		return errConflict
	}
	st.Version++
	st.UpdatedAt = now
	return nil
}

func insertTransition(ctx context.Context, tx pgx.Tx, tr Transition) error {
	var eventID *string
	if tr.EventID != "" {
		eventID = &tr.EventID
	}
	_, err := tx.Exec(ctx, `INSERT INTO payment_transitions (reservation_id, gateway, operation, from_status, to_status,
			amount, currency, reference, idempotency_key, reservation_version, cause, reason, event_id, created_at, fee, property_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		tr.ReservationID, tr.Gateway, string(tr.Operation), string(tr.From), string(tr.To), tr.Amount.Minor,
		tr.Amount.Currency, tr.Reference, tr.IdempotencyKey, tr.ReservationVersion, tr.Cause, tr.Reason, eventID, tr.At,
		tr.Fee.Minor, tr.PropertyID)
	if err != nil {
		return fmt.Errorf("payments: record transition: %w", err)
	}
	return nil
}

// Transitions returns every transition of a reservation's payment, oldest first.
func (s *Service) Transitions(ctx context.Context, reservationID string) ([]Transition, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, reservation_id::text, gateway, operation, from_status, to_status, amount,
			currency, reference, idempotency_key, reservation_version, cause, reason, coalesce(event_id::text, ''), created_at, fee
		FROM payment_transitions WHERE reservation_id = $1 ORDER BY id`, reservationID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Transition, error) {
		var t Transition
		var op, from, to string
		err := row.Scan(&t.ID, &t.ReservationID, &t.Gateway, &op, &from, &to, &t.Amount.Minor, &t.Amount.Currency,
			&t.Reference, &t.IdempotencyKey, &t.ReservationVersion, &t.Cause, &t.Reason, &t.EventID, &t.At, &t.Fee.Minor)
		t.Fee.Currency = t.Amount.Currency
		t.Operation, t.From, t.To = canonical.PaymentOperation(op), canonical.PaymentStatus(from), canonical.PaymentStatus(to)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("payments: transitions of %s: %w", reservationID, err)
	}
	return out, nil
}

// Payment returns where a reservation's payment stands, or nil when it has none.
func (s *Service) Payment(ctx context.Context, reservationID string) (*State, error) {
	return loadState(ctx, s.pool, reservationID)
}

// Store returns the reservation store the flow works on.
func (s *Service) Store() *reservations.Store { return s.store }
