package reservations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// PaymentNone is the status of a reservation that has no payment (it is
// not guaranteed by a card, or the payment flow has not acted yet).
const PaymentNone canonical.PaymentStatus = "none"

// Payments is where a reservation's payment stands and every operation
// that brought it there, as the payment flow recorded them. It holds a card
// mask, never a card number or token.
type Payments struct {
	ReservationID      string                  `json:"reservation_id"`
	ConfirmationNumber string                  `json:"confirmation_number"`
	ReservationStatus  canonical.Status        `json:"reservation_status"`
	Status             canonical.PaymentStatus `json:"status"`
	Gateway            string                  `json:"gateway,omitempty"`
	Reference          string                  `json:"reference,omitempty"` // the gateway's id of the current payment
	CardMask           string                  `json:"card_mask,omitempty"`
	AmountDue          canonical.Money         `json:"amount_due"`
	Authorized         canonical.Money         `json:"authorized"`
	Captured           canonical.Money         `json:"captured"`
	Refunded           canonical.Money         `json:"refunded"`
	Fees               canonical.Money         `json:"fees"` // cancellation and no-show fees charged, net of any paid back
	HoldExpiresAt      *time.Time              `json:"hold_expires_at,omitempty"`
	Declined           bool                    `json:"declined"`
	Attention          string                  `json:"attention,omitempty"`
	// Policy is the rate plan's policy the payment follows.
	Policy     PaymentPolicy      `json:"policy"`
	Operations []PaymentOperation `json:"operations"`
}

// PaymentPolicy is the policy a reservation's payment follows: its first
// room stay's rate plan's.
type PaymentPolicy struct {
	RatePlan string `json:"rate_plan"`
	canonical.RatePolicy
}

// PaymentOperation is one operation at the gateway and its outcome.
type PaymentOperation struct {
	Operation          canonical.PaymentOperation `json:"operation"`
	From               canonical.PaymentStatus    `json:"from"` // "" for the first
	To                 canonical.PaymentStatus    `json:"to"`
	Amount             canonical.Money            `json:"amount"`
	Fee                canonical.Money            `json:"fee"`
	Gateway            string                     `json:"gateway"`
	Reference          string                     `json:"reference,omitempty"`
	IdempotencyKey     string                     `json:"idempotency_key,omitempty"`
	ReservationVersion int                        `json:"reservation_version"`
	// Reason is the rule of the policy applied, or a gateway's refusal.
	Reason string    `json:"reason,omitempty"`
	Cause  string    `json:"cause,omitempty"`
	At     time.Time `json:"at"`
}

// Payments returns where a reservation's payment stands, with every
// operation, oldest first. A reservation outside scope is not found.
func (s *Store) Payments(ctx context.Context, scope Scope, ref string) (*Payments, error) {
	r, err := s.Get(ctx, scope, ref)
	if err != nil {
		return nil, err
	}
	cur := r.Total.Currency
	p := &Payments{ReservationID: r.ID, ConfirmationNumber: r.ConfirmationNumber, ReservationStatus: r.Status, Status: PaymentNone,
		AmountDue: r.Total, Authorized: canonical.NewMoney(0, cur), Captured: canonical.NewMoney(0, cur),
		Refunded: canonical.NewMoney(0, cur), Fees: canonical.NewMoney(0, cur), Operations: []PaymentOperation{}}
	prop, err := s.catalog.get(ctx, s.pool, r.PropertyID)
	if err != nil {
		return nil, err
	}
	p.Policy = PaymentPolicy{RatePlan: r.RoomStays[0].RatePlan, RatePolicy: prop.PolicyOf(r)}

	var status string
	var due, authorized, captured, refunded int64
	err = s.pool.QueryRow(ctx, `SELECT gateway, status, reference, currency, amount_due, authorized, captured, refunded,
			card_mask, hold_expires_at, declined, attention
		FROM payments WHERE reservation_id = $1`, r.ID).Scan(&p.Gateway, &status, &p.Reference, &cur, &due, &authorized,
		&captured, &refunded, &p.CardMask, &p.HoldExpiresAt, &p.Declined, &p.Attention)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return p, nil
	case err != nil:
		return nil, fmt.Errorf("payments of %s: %w", r.ID, err)
	}
	p.Status = canonical.PaymentStatus(status)
	p.AmountDue, p.Authorized = canonical.NewMoney(due, cur), canonical.NewMoney(authorized, cur)
	p.Captured, p.Refunded = canonical.NewMoney(captured, cur), canonical.NewMoney(refunded, cur)
	p.CardMask = maskOnly(p.CardMask)

	rows, _ := s.pool.Query(ctx, `SELECT operation, from_status, to_status, amount, fee, currency, gateway, reference,
			idempotency_key, reservation_version, reason, cause, created_at
		FROM payment_transitions WHERE reservation_id = $1 ORDER BY id`, r.ID)
	var fees int64
	p.Operations, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (PaymentOperation, error) {
		var o PaymentOperation
		var op, from, to, currency string
		var amount, fee int64
		err := row.Scan(&op, &from, &to, &amount, &fee, &currency, &o.Gateway, &o.Reference, &o.IdempotencyKey,
			&o.ReservationVersion, &o.Reason, &o.Cause, &o.At)
		o.Operation, o.From, o.To = canonical.PaymentOperation(op), canonical.PaymentStatus(from), canonical.PaymentStatus(to)
		o.Amount, o.Fee = canonical.NewMoney(amount, currency), canonical.NewMoney(fee, currency)
		o.Reason = maskOnly(o.Reason)
		fees += fee
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("payment operations of %s: %w", r.ID, err)
	}
	p.Fees = canonical.NewMoney(fees, cur)
	return p, nil
}

// maskOnly drops text that holds a card number: the payment tables never
// should, and this read is what the API shows.
func maskOnly(s string) string {
	if canonical.ContainsCardNumber(s) {
		return canonical.Redacted
	}
	return s
}

// SettlementDay is what a property's payments came to on one day (at the
// property, in its time zone) at one gateway, in one currency.
type SettlementDay struct {
	Date       canonical.Date  `json:"date"`
	Gateway    string          `json:"gateway"`
	Captured   canonical.Money `json:"captured"`
	Refunded   canonical.Money `json:"refunded"`
	Fees       canonical.Money `json:"fees"` // of the captured and refunded amounts: cancellation and no-show fees
	Net        canonical.Money `json:"net"`  // captured less refunded
	Operations int             `json:"operations"`
}

// Settlement is a property's payments over a range of days.
type Settlement struct {
	PropertyID string          `json:"property_id"`
	Timezone   string          `json:"timezone"`
	From       canonical.Date  `json:"from"`
	To         canonical.Date  `json:"to"`
	Days       []SettlementDay `json:"days"`
	Totals     []SettlementDay `json:"totals"` // per gateway and currency over the range; Date is From
}

// MaxSettlementDays bounds the range of one settlement query.
const MaxSettlementDays = 366

// Settlement sums a property's captures, refunds and fees per day and
// gateway, days from..to inclusive at the property.
func (s *Store) Settlement(ctx context.Context, scope Scope, propertyID string, from, to canonical.Date) (*Settlement, error) {
	if !scope.Allows(propertyID) {
		return nil, notFound("property", propertyID)
	}
	var pr canonical.Problems
	if to.Before(from) {
		pr.Add("to", "must not be before from")
	} else if from.DaysUntil(to) >= MaxSettlementDays {
		pr.Add("to", "the range may span at most %d days", MaxSettlementDays)
	}
	if err := pr.Err(); err != nil {
		return nil, err
	}
	prop, err := s.catalog.get(ctx, s.pool, propertyID)
	if err != nil {
		return nil, err
	}
	loc := prop.Location()
	start := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, loc)
	end := time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	rows, _ := s.pool.Query(ctx, `SELECT (created_at AT TIME ZONE $4)::date AS day, gateway, currency,
			coalesce(sum(amount) FILTER (WHERE operation = 'capture' AND to_status = 'captured'), 0),
			coalesce(sum(amount) FILTER (WHERE operation = 'refund' AND to_status = 'refunded'), 0),
			coalesce(sum(fee), 0), count(*) FILTER (WHERE operation IN ('capture', 'refund'))
		FROM payment_transitions
		WHERE property_id = $1 AND created_at >= $2 AND created_at < $3
		GROUP BY 1, 2, 3
		HAVING count(*) FILTER (WHERE operation IN ('capture', 'refund')) > 0
		ORDER BY 1, 2, 3`, propertyID, start, end, loc.String())
	out := &Settlement{PropertyID: propertyID, Timezone: prop.Timezone, From: from, To: to, Days: []SettlementDay{}, Totals: []SettlementDay{}}
	totals := map[[2]string]*SettlementDay{}
	var keys [][2]string
	var day time.Time
	var gateway, currency string
	var captured, refunded, fees int64
	var n int
	_, err = pgx.ForEachRow(rows, []any{&day, &gateway, &currency, &captured, &refunded, &fees, &n}, func() error {
		out.Days = append(out.Days, settlementDay(canonical.DateOf(day), gateway, currency, captured, refunded, fees, n))
		k := [2]string{gateway, currency}
		t, ok := totals[k]
		if !ok {
			t = &SettlementDay{Date: from, Gateway: gateway, Captured: canonical.NewMoney(0, currency),
				Refunded: canonical.NewMoney(0, currency), Fees: canonical.NewMoney(0, currency)}
			totals[k] = t
			keys = append(keys, k)
		}
		*t = settlementDay(from, gateway, currency, t.Captured.Minor+captured, t.Refunded.Minor+refunded, t.Fees.Minor+fees, t.Operations+n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("settlement of %s: %w", propertyID, err)
	}
	for _, k := range keys {
		out.Totals = append(out.Totals, *totals[k])
	}
	return out, nil
}

func settlementDay(d canonical.Date, gateway, currency string, captured, refunded, fees int64, n int) SettlementDay {
	return SettlementDay{Date: d, Gateway: gateway, Captured: canonical.NewMoney(captured, currency),
		Refunded: canonical.NewMoney(refunded, currency), Fees: canonical.NewMoney(fees, currency),
		Net: canonical.NewMoney(captured-refunded, currency), Operations: n}
}
