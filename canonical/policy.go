package canonical

import (
	"fmt"
	"time"
)

// CapturePoint is when a rate plan's guarantee is charged.
type CapturePoint string

// The capture points.
const (
	CaptureAtBooking  CapturePoint = "at_booking"
	CaptureAtCheckIn  CapturePoint = "at_check_in"
	CaptureAtCheckOut CapturePoint = "at_check_out"
)

// FeeKind is how a late cancellation is charged.
type FeeKind string

// The fee kinds.
const (
	FeeFirstNight FeeKind = "first_night" // the price of the first night
	FeePercent    FeeKind = "percent"     // a percentage of the total
	FeeFull       FeeKind = "full"        // the whole total
	FeeNone       FeeKind = "none"        // nothing (no-show fees only)
)

// Defaults of the no-show rules.
const (
	DefaultNoShowCutoffDays = 1
	DefaultUndoNoShowHours  = 24
)

// RatePolicy is a rate plan's payment and cancellation policy, as data.
// The zero policy is refundable with free cancellation up to arrival and
// capture at check-in.
type RatePolicy struct {
	// NonRefundable plans are charged at booking and never refunded.
	NonRefundable bool `json:"non_refundable,omitempty"`
	// FreeCancellationDays: cancelling at least this many days before arrival
	// costs nothing; later, the fee applies.
	FreeCancellationDays int          `json:"free_cancellation_days,omitempty"`
	Fee                  FeeKind      `json:"fee,omitempty"`         // default first_night
	FeePercent           int          `json:"fee_percent,omitempty"` // for fee "percent", 1..100
	Capture              CapturePoint `json:"capture,omitempty"`     // default at_check_in; non-refundable plans capture at booking

	// NoShowFee is what a no-show costs: first_night (the default),
	// percent, full or none. Non-refundable plans always cost the total.
	NoShowFee        FeeKind `json:"no_show_fee,omitempty"`
	NoShowFeePercent int     `json:"no_show_fee_percent,omitempty"` // for no_show_fee "percent", 1..100
	// NoShowCutoffDays: a no-show may be recorded from the arrival day
	// until this many days after it (default 1).
	NoShowCutoffDays int `json:"no_show_cutoff_days,omitempty"`
	// UndoNoShowHours: a no-show may be undone (the guest came after all)
	// within this many hours of recording it (default 24).
	UndoNoShowHours int `json:"undo_no_show_hours,omitempty"`
}

// NoShowCutoff returns the days after arrival a no-show may still be recorded.
func (p RatePolicy) NoShowCutoff() int {
	if p.NoShowCutoffDays == 0 {
		return DefaultNoShowCutoffDays
	}
	return p.NoShowCutoffDays
}

// UndoNoShowWithin returns how long after a no-show it may be undone.
func (p RatePolicy) UndoNoShowWithin() time.Duration {
	if p.UndoNoShowHours == 0 {
		return DefaultUndoNoShowHours * time.Hour
	}
	return time.Duration(p.UndoNoShowHours) * time.Hour
}

// NoShowFeeOf returns what a no-show of r costs under the policy, and the
// rule that set it (e.g. "no-show fee: first night").
func (p RatePolicy) NoShowFeeOf(r *Reservation) (Money, string, error) {
	if p.NonRefundable {
		return r.Total, "no-show fee: non-refundable rate, the full total", nil
	}
	switch p.NoShowFee {
	case "", FeeFirstNight:
		fee, err := firstNights(r)
		return fee, "no-show fee: first night", err
	case FeePercent:
		return NewMoney(r.Total.Minor*int64(p.NoShowFeePercent)/100, r.Total.Currency), fmt.Sprintf("no-show fee: %d%% of the total", p.NoShowFeePercent), nil
	case FeeFull:
		return r.Total, "no-show fee: the full total", nil
	case FeeNone:
		return NewMoney(0, r.Total.Currency), "no-show fee: none", nil
	}
	return Money{}, "", fmt.Errorf("unknown no-show fee kind %q", p.NoShowFee)
}

// firstNights sums the price of the first night of every room stay.
func firstNights(r *Reservation) (Money, error) {
	fee := NewMoney(0, r.Total.Currency)
	for _, s := range r.RoomStays {
		if len(s.NightlyPrices) > 0 {
			var err error
			if fee, err = fee.Add(s.NightlyPrices[0].Price); err != nil {
				return Money{}, err
			}
		}
	}
	return fee, nil
}

// CaptureAt returns when the guarantee is charged under the policy.
func (p RatePolicy) CaptureAt() CapturePoint {
	switch {
	case p.NonRefundable:
		return CaptureAtBooking
	case p.Capture == "":
		return CaptureAtCheckIn
	}
	return p.Capture
}

// CancellationFee returns what cancelling r on the date today costs under the
// policy: nothing inside the free period, else the fee.
func (p RatePolicy) CancellationFee(r *Reservation, today Date) (Money, error) {
	if p.NonRefundable {
		return r.Total, nil
	}
	if today.DaysUntil(r.Arrival()) >= p.FreeCancellationDays {
		return NewMoney(0, r.Total.Currency), nil
	}
	switch p.Fee {
	case "", FeeFirstNight:
		return firstNights(r)
	case FeePercent:
		return NewMoney(r.Total.Minor*int64(p.FeePercent)/100, r.Total.Currency), nil
	case FeeFull:
		return r.Total, nil
	}
	return Money{}, fmt.Errorf("unknown cancellation fee kind %q", p.Fee)
}

// Validate checks the policy; field paths are relative to it.
func (p RatePolicy) Validate() error {
	var pr Problems
	if p.FreeCancellationDays < 0 || p.FreeCancellationDays > 365 {
		pr.Add("free_cancellation_days", "must be between 0 and 365")
	}
	checkFee(&pr, "fee", p.Fee, p.FeePercent, false)
	checkFee(&pr, "no_show_fee", p.NoShowFee, p.NoShowFeePercent, true)
	if p.NoShowCutoffDays < 0 || p.NoShowCutoffDays > 30 {
		pr.Add("no_show_cutoff_days", "must be between 1 and 30, or left out for %d", DefaultNoShowCutoffDays)
	}
	if p.UndoNoShowHours < 0 || p.UndoNoShowHours > 168 {
		pr.Add("undo_no_show_hours", "must be between 1 and 168, or left out for %d", DefaultUndoNoShowHours)
	}
	switch p.Capture {
	case "", CaptureAtBooking, CaptureAtCheckIn, CaptureAtCheckOut:
	default:
		pr.Add("capture", "%q is not one of at_booking, at_check_in, at_check_out", truncate(string(p.Capture), 20))
	}
	return pr.Err()
}

// checkFee checks a fee kind named field and its percentage (field_percent);
// none is a kind only no-show fees have.
func checkFee(pr *Problems, field string, kind FeeKind, percent int, noneAllowed bool) {
	kinds := "first_night, percent, full"
	if noneAllowed {
		kinds += ", none"
	}
	switch {
	case kind == FeePercent:
		if percent < 1 || percent > 100 {
			pr.Add(field+"_percent", "must be between 1 and 100")
		}
	case kind == "", kind == FeeFirstNight, kind == FeeFull, kind == FeeNone && noneAllowed:
		if percent != 0 {
			pr.Add(field+"_percent", "only goes with %s \"percent\"", field)
		}
	default:
		pr.Add(field, "%q is not one of %s", truncate(string(kind), 20), kinds)
	}
}
