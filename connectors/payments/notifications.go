package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations"
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
	rows := make([]reservations.PaymentNotification, len(ns))
	for i, n := range ns {
		rows[i] = reservations.PaymentNotification{ID: n.ID, Kind: string(n.Kind), EventCode: n.EventCode, Reference: n.Reference,
			MerchantReference: n.MerchantReference, Success: n.Success, Amount: n.Amount,
			Reason: connectors.SafeText(n.Reason, 200), OccurredAt: n.OccurredAt}
	}
	changes, err := s.store.RecordPaymentNotifications(ctx, gateway, rows, func(n reservations.PaymentNotification, st *reservations.PaymentState) (*reservations.PaymentChange, error) {
		return s.reconcile(ctx, gateway, n, st)
	})
	if err != nil {
		return fmt.Errorf("payments: notifications of %s: %w", gateway, err)
	}
	for _, c := range changes {
		if c.Transition == nil {
			continue // a note for a person, not a decline
		}
		if err := s.syncFlag(ctx, c.State.ReservationID, true); err != nil {
			// Stored and committed: the next event of the reservation, or
			// the next notification, sets the flag.
			s.logger.WarnContext(ctx, "payment flag not set", "reservation_id", c.State.ReservationID, "error", err)
		}
	}
	return nil
}

// reconcile works out what one new notification changes of the payment st
// the gateway holds: nothing, a decline (a lapsed hold, a refused
// adjustment) that flags the reservation, or a note for a person.
func (s *Service) reconcile(ctx context.Context, gateway string, n reservations.PaymentNotification, st *reservations.PaymentState) (*reservations.PaymentChange, error) {
	o := outcome{req: Request{Amount: canonical.NewMoney(st.Authorized, st.Currency)}, cause: "notification " + n.ID,
		now: s.cfg.Now().UTC().Truncate(time.Microsecond)}
	kind := NotificationKind(n.Kind)
	switch {
	case st.Status != canonical.PaymentAuthorized:
	case kind == KindExpired:
		o.op = canonical.PaymentRenew
		o.err = &DeclineError{Gateway: gateway, Code: "hold_expired", Reason: "the hold lapsed at the gateway"}
		past := o.now
		st.HoldExpiresAt = &past
		c, err := transition(ctx, st.Status, st, o)
		return &c, err
	case (kind == KindAuthorized || kind == KindFailed) && !n.Success:
		o.op = canonical.PaymentAdjust
		o.err = &DeclineError{Gateway: gateway, Code: n.EventCode, Reason: n.Reason}
		c, err := transition(ctx, st.Status, st, o)
		return &c, err
	}
	if !n.Success && (kind == KindCaptured || kind == KindRefunded) {
		st.Attention = connectors.SafeText(fmt.Sprintf("the gateway reports %s failed: %s", n.EventCode, n.Reason), 300)
		return &reservations.PaymentChange{State: st, At: o.now}, nil
	}
	return nil, nil
}
