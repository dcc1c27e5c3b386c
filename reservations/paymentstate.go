package reservations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// ErrPaymentChanged means another worker changed a payment since it was
// read; the caller reads it again and works out its plan afresh.
var ErrPaymentChanged = errors.New("payment changed concurrently")

// PaymentState is where one reservation's payment stands, as the payment
// flow keeps it. Amounts are minor units of Currency. It holds a card mask
// and a hash of the card token, never a card number or a token.
type PaymentState struct {
	ReservationID string
	PropertyID    string
	Gateway       string
	Status        canonical.PaymentStatus
	Reference     string // the gateway's id of the current payment
	Currency      string
	AmountDue     int64 // what the reservation costs now
	Authorized    int64 // held on the card
	Captured      int64
	Refunded      int64
	TokenHash     []byte // SHA-256 of the card token the hold is on
	CardMask      string
	HoldExpiresAt *time.Time
	// ReservationVersion is the reservation version last acted on: events
	// of that version or older change nothing.
	ReservationVersion int
	// Declined: the last authorization (or adjustment, or renewal) was
	// declined, so the reservation carries FlagPaymentDeclined.
	Declined bool
	// Attention says why a person must look at the payment ("" when nothing).
	Attention string
	// Version rises with every change (optimistic locking); 0 for a payment
	// not yet saved.
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PaymentTransition is one recorded change of a payment's state.
type PaymentTransition struct {
	ID                 int64                      `json:"id"`
	ReservationID      string                     `json:"reservation_id"`
	Gateway            string                     `json:"gateway"`
	Operation          canonical.PaymentOperation `json:"operation"`
	From               canonical.PaymentStatus    `json:"from"` // "" for the first
	To                 canonical.PaymentStatus    `json:"to"`
	Amount             canonical.Money            `json:"amount"`
	Reference          string                     `json:"reference,omitempty"`
	IdempotencyKey     string                     `json:"idempotency_key,omitempty"`
	ReservationVersion int                        `json:"reservation_version"`
	Cause              string                     `json:"cause,omitempty"`
	Reason             string                     `json:"reason,omitempty"`
	// Fee is the cancellation or no-show fee the operation charged or
	// kept; negative when a no-show undone paid it back.
	Fee        canonical.Money `json:"fee"`
	PropertyID string          `json:"property_id"`
	EventID    string          `json:"event_id,omitempty"`
	At         time.Time       `json:"at"`
}

// PaymentChange is one change of a payment, written in one transaction: its
// new state and, when set, the transition that led there and the event that
// announces it.
type PaymentChange struct {
	State      *PaymentState
	Transition *PaymentTransition
	Event      *canonical.Event
	// At is when the change happened (the payment flow's clock); zero
	// means now by the store's.
	At time.Time
}

// PaymentNotification is a gateway's notification as stored: once per
// gateway and ID. It never carries card data.
type PaymentNotification struct {
	ID                string
	Kind              string
	EventCode         string
	Reference         string // the gateway's id of the payment
	MerchantReference string
	Success           bool
	Amount            canonical.Money
	Reason            string
	OccurredAt        time.Time // zero when the gateway does not say
}

const paymentColumns = `reservation_id::text, property_id, gateway, status, reference, currency, amount_due, authorized,
	captured, refunded, token_hash, card_mask, hold_expires_at, reservation_version, declined, attention, version,
	created_at, updated_at`

// PaymentState returns where a reservation's payment stands, or nil when it
// has none.
func (s *Store) PaymentState(ctx context.Context, reservationID string) (*PaymentState, error) {
	st, err := scanPaymentState(s.pool.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE reservation_id = $1`, reservationID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("payment of %s: %w", reservationID, err)
	}
	return st, nil
}

func scanPaymentState(row pgx.Row) (*PaymentState, error) {
	var st PaymentState
	var status string
	err := row.Scan(&st.ReservationID, &st.PropertyID, &st.Gateway, &status, &st.Reference, &st.Currency, &st.AmountDue,
		&st.Authorized, &st.Captured, &st.Refunded, &st.TokenHash, &st.CardMask, &st.HoldExpiresAt, &st.ReservationVersion,
		&st.Declined, &st.Attention, &st.Version, &st.CreatedAt, &st.UpdatedAt)
	st.Status = canonical.PaymentStatus(status)
	return &st, err
}

// ExpiringHolds returns the reservations whose authorized hold expires
// before before, soonest first, at most limit of them.
func (s *Store) ExpiringHolds(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT reservation_id::text FROM payments
		WHERE status = 'authorized' AND hold_expires_at < $1 ORDER BY hold_expires_at LIMIT $2`, before, limit)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("expiring holds: %w", err)
	}
	return ids, nil
}

// PaymentTransitions returns every transition of a reservation's payment,
// oldest first.
func (s *Store) PaymentTransitions(ctx context.Context, reservationID string) ([]PaymentTransition, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, reservation_id::text, gateway, operation, from_status, to_status, amount,
			currency, reference, idempotency_key, reservation_version, cause, reason, coalesce(event_id::text, ''), created_at,
			fee, property_id
		FROM payment_transitions WHERE reservation_id = $1 ORDER BY id`, reservationID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PaymentTransition, error) {
		var t PaymentTransition
		var op, from, to string
		err := row.Scan(&t.ID, &t.ReservationID, &t.Gateway, &op, &from, &to, &t.Amount.Minor, &t.Amount.Currency,
			&t.Reference, &t.IdempotencyKey, &t.ReservationVersion, &t.Cause, &t.Reason, &t.EventID, &t.At, &t.Fee.Minor,
			&t.PropertyID)
		t.Fee.Currency = t.Amount.Currency
		t.Operation, t.From, t.To = canonical.PaymentOperation(op), canonical.PaymentStatus(from), canonical.PaymentStatus(to)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("payment transitions of %s: %w", reservationID, err)
	}
	return out, nil
}

// SavePayment writes a change of a payment in one transaction: its state
// (inserted when its Version is 0, else updated only if the stored payment
// is still at that Version, or ErrPaymentChanged), its transition and its
// event. Once committed, the state's Version and UpdatedAt are raised.
func (s *Store) SavePayment(ctx context.Context, c PaymentChange) error {
	if c.At.IsZero() {
		c.At = s.now()
	}
	if err := s.inTx(ctx, func(tx pgx.Tx) error { return writePaymentChange(ctx, tx, c) }); err != nil {
		return err
	}
	c.State.Version++
	c.State.UpdatedAt = c.At
	return nil
}

// RecordPaymentNotifications stores a gateway's notifications, each once,
// in one transaction. For each one not seen before that names a payment the
// gateway holds now, reconcile is called with that payment, locked, and the
// change it returns (if any) is written in the same transaction. It returns
// the changes committed. reconcile may be called again if the transaction
// is retried, so it must only work out the change.
func (s *Store) RecordPaymentNotifications(ctx context.Context, gateway string, ns []PaymentNotification,
	reconcile func(PaymentNotification, *PaymentState) (*PaymentChange, error)) ([]PaymentChange, error) {
	var done []PaymentChange
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		done = done[:0]
		for _, n := range ns {
			var at *time.Time
			if !n.OccurredAt.IsZero() {
				at = &n.OccurredAt
			}
			tag, err := tx.Exec(ctx, `INSERT INTO payment_notifications (gateway, notification_id, kind, event_code, reference,
					merchant_reference, success, amount, currency, reason, occurred_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
				gateway, n.ID, n.Kind, n.EventCode, n.Reference, n.MerchantReference, n.Success, n.Amount.Minor,
				n.Amount.Currency, n.Reason, at)
			if err != nil {
				return fmt.Errorf("store notification: %w", err)
			}
			if tag.RowsAffected() == 0 || n.Reference == "" {
				continue // seen before, or names no payment
			}
			st, err := scanPaymentState(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments
				WHERE gateway = $1 AND reference = $2 FOR UPDATE`, gateway, n.Reference))
			if errors.Is(err, pgx.ErrNoRows) {
				continue // not a payment held now (an old or replaced hold)
			}
			if err != nil {
				return fmt.Errorf("notification %s: %w", n.ID, err)
			}
			c, err := reconcile(n, st)
			if err != nil || c == nil {
				return err
			}
			if c.At.IsZero() {
				c.At = s.now()
			}
			if err := writePaymentChange(ctx, tx, *c); err != nil {
				return err
			}
			done = append(done, *c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range done {
		c.State.Version++
		c.State.UpdatedAt = c.At
	}
	return done, nil
}

// PaymentNotificationCount returns how many notifications of a gateway are
// stored.
func (s *Store) PaymentNotificationCount(ctx context.Context, gateway string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM payment_notifications WHERE gateway = $1`, gateway).Scan(&n)
	return n, err
}

// writePaymentChange writes c in tx, leaving c.State as it was.
func writePaymentChange(ctx context.Context, tx pgx.Tx, c PaymentChange) error {
	st, now := c.State, c.At
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
		return fmt.Errorf("save payment of %s: %w", st.ReservationID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrPaymentChanged
	}
	if tr := c.Transition; tr != nil {
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
			return fmt.Errorf("record payment transition: %w", err)
		}
	}
	if c.Event != nil {
		return AppendEvents(ctx, tx, *c.Event)
	}
	return nil
}
