package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// NotificationKind is what a gateway's notification reports, in the flow's terms.
type NotificationKind string

// The notification kinds.
const (
	KindAuthorized NotificationKind = "authorized" // a hold placed or adjusted
	KindCaptured   NotificationKind = "captured"
	KindVoided     NotificationKind = "voided"
	KindRefunded   NotificationKind = "refunded"
	KindFailed     NotificationKind = "failed"  // an authorization refused
	KindExpired    NotificationKind = "expired" // a hold lapsed at the gateway
	KindOther      NotificationKind = "other"   // stored, not acted on
)

// Notification is one verified gateway notification, reduced to what the
// flow reads. It never carries card data: gateways' raw bodies are not kept.
type Notification struct {
	// ID is unique per gateway: a redelivered notification has the same ID
	// and is stored once.
	ID                string
	Kind              NotificationKind
	EventCode         string // the gateway's name of the event
	Reference         string // the gateway's id of the payment
	MerchantReference string // Roomwire's reference (reservation id)
	Success           bool
	Amount            canonical.Money
	Reason            string
	OccurredAt        time.Time
}

// Record stores verified notifications of gateway, each once, and acts on
// those that report what Roomwire did not do itself: a hold that lapsed or
// an adjustment the gateway refused flags the reservation (and is published
// as payment.failed); a failed capture or refund is noted for a person.
// Confirmations of Roomwire's own operations are only stored. It returns
// once everything is committed, so the receiver may acknowledge then.
func (s *Service) Record(ctx context.Context, gateway string, ns []Notification) error {
	var flag []string
	err := s.store.InTx(ctx, func(tx pgx.Tx) error {
		flag = flag[:0]
		for _, n := range ns {
			tag, err := tx.Exec(ctx, `INSERT INTO payment_notifications (gateway, notification_id, kind, event_code, reference,
					merchant_reference, success, amount, currency, reason, occurred_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
				gateway, n.ID, string(n.Kind), n.EventCode, n.Reference, n.MerchantReference, n.Success, n.Amount.Minor,
				n.Amount.Currency, connectors.SafeText(n.Reason, 200), nullTime(n.OccurredAt))
			if err != nil {
				return fmt.Errorf("payments: store notification: %w", err)
			}
			if tag.RowsAffected() == 0 {
				continue // seen before
			}
			id, err := s.reconcile(ctx, tx, gateway, n)
			if err != nil {
				return err
			}
			if id != "" {
				flag = append(flag, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range flag {
		if err := s.syncFlag(ctx, id, true); err != nil {
			// Stored and committed: the next event of the reservation, or
			// the next notification, sets the flag.
			s.logger.WarnContext(ctx, "payment flag not set", "reservation_id", id, "error", err)
		}
	}
	return nil
}

// reconcile acts on one new notification in tx and returns the reservation
// to flag, if any.
func (s *Service) reconcile(ctx context.Context, tx pgx.Tx, gateway string, n Notification) (string, error) {
	if n.Reference == "" {
		return "", nil
	}
	st, err := scanState(tx.QueryRow(ctx, `SELECT `+stateColumns+` FROM payments
		WHERE gateway = $1 AND reference = $2 FOR UPDATE`, gateway, n.Reference))
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil // not a payment Roomwire holds now (an old or replaced hold)
	}
	if err != nil {
		return "", fmt.Errorf("payments: notification %s: %w", n.ID, err)
	}
	o := outcome{req: Request{Amount: canonical.NewMoney(st.Authorized, st.Currency)}, cause: "notification " + n.ID,
		now: s.cfg.Now().UTC().Truncate(time.Microsecond)}
	switch {
	case st.Status != canonical.PaymentAuthorized:
	case n.Kind == KindExpired:
		o.op = canonical.PaymentRenew
		o.err = &DeclineError{Gateway: gateway, Code: "hold_expired", Reason: "the hold lapsed at the gateway"}
		past := o.now
		st2 := *st
		st2.HoldExpiresAt = &past
		return st.ReservationID, writeTransition(ctx, tx, st.Status, &st2, o)
	case (n.Kind == KindAuthorized || n.Kind == KindFailed) && !n.Success:
		o.op = canonical.PaymentAdjust
		o.err = &DeclineError{Gateway: gateway, Code: n.EventCode, Reason: n.Reason}
		n2 := *st
		return st.ReservationID, writeTransition(ctx, tx, st.Status, &n2, o)
	}
	if !n.Success && (n.Kind == KindCaptured || n.Kind == KindRefunded) {
		st.Attention = connectors.SafeText(fmt.Sprintf("the gateway reports %s failed: %s", n.EventCode, n.Reason), 300)
		return "", saveState(ctx, tx, st, o.now)
	}
	return "", nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
