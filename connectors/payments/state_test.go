package payments

import (
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

func TestNext(t *testing.T) {
	arrival := canonical.Date{Year: 2027, Month: 4, Day: 10}
	res := func(status canonical.Status, version int, token string, nights int) *canonical.Reservation {
		r := &canonical.Reservation{ID: "r1", Status: status, Version: version, Total: canonical.NewMoney(int64(nights)*10000, "EUR")}
		st := canonical.RoomStay{Arrival: arrival, Departure: arrival.AddDays(nights)}
		for i := 0; i < nights; i++ {
			st.NightlyPrices = append(st.NightlyPrices, canonical.NightlyPrice{Date: arrival.AddDays(i), Price: canonical.NewMoney(10000, "EUR")})
		}
		r.RoomStays = []canonical.RoomStay{st}
		if token != "" {
			r.Guarantee = &canonical.Guarantee{Type: "card", CardToken: token}
		}
		return r
	}
	held := func(amount int64, token string) *reservations.PaymentState {
		return &reservations.PaymentState{Status: canonical.PaymentAuthorized, Authorized: amount, AmountDue: amount, TokenHash: tokenHash(token), ReservationVersion: 1, Currency: "EUR"}
	}
	captured := func(amount, refunded int64) *reservations.PaymentState {
		return &reservations.PaymentState{Status: canonical.PaymentCaptured, Captured: amount, Refunded: refunded, ReservationVersion: 1, Currency: "EUR"}
	}
	flex := canonical.RatePolicy{FreeCancellationDays: 2}
	early, late := arrival.AddDays(-10), arrival.AddDays(-1)
	none := step{}
	for _, tc := range []struct {
		name     string
		st       *reservations.PaymentState
		r        *canonical.Reservation
		policy   canonical.RatePolicy
		today    canonical.Date
		adjust   bool
		want     step
		wantMore bool
	}{
		{"new card booking", nil, res(canonical.StatusConfirmed, 1, "tok", 2), flex, early, false, step{canonical.PaymentAuthorize, 20000}, true},
		{"no card", nil, res(canonical.StatusConfirmed, 1, "", 2), flex, early, false, none, false},
		{"already acted on", held(20000, "tok"), res(canonical.StatusConfirmed, 1, "tok", 2), flex, early, false, none, false},
		{"stale event", held(20000, "tok"), res(canonical.StatusCancelled, 1, "tok", 2), flex, early, false, none, false},
		{"nothing changed", held(20000, "tok"), res(canonical.StatusConfirmed, 2, "tok", 2), flex, early, false, none, false},
		{"non-refundable captures at booking", held(20000, "tok"), res(canonical.StatusConfirmed, 2, "tok", 2), canonical.RatePolicy{NonRefundable: true}, early, false, step{canonical.PaymentCapture, 20000}, true},
		{"higher, adjustable", held(20000, "tok"), res(canonical.StatusConfirmed, 2, "tok", 3), flex, early, true, step{canonical.PaymentAdjust, 30000}, true},
		{"higher, not adjustable", held(20000, "tok"), res(canonical.StatusConfirmed, 2, "tok", 3), flex, early, false, step{canonical.PaymentReauthorize, 30000}, true},
		{"lower, adjustable", held(20000, "tok"), res(canonical.StatusConfirmed, 2, "tok", 1), flex, early, true, step{canonical.PaymentAdjust, 10000}, true},
		{"lower, not adjustable: keep the hold", held(20000, "tok"), res(canonical.StatusConfirmed, 2, "tok", 1), flex, early, false, none, false},
		{"new card", held(20000, "tok"), res(canonical.StatusConfirmed, 2, "tok2", 2), flex, early, true, step{canonical.PaymentReauthorize, 20000}, true},
		{"card withdrawn", held(20000, "tok"), res(canonical.StatusConfirmed, 2, "", 2), flex, early, false, step{canonical.PaymentVoid, 20000}, true},
		{"check-in captures", held(20000, "tok"), res(canonical.StatusCheckedIn, 2, "tok", 2), flex, arrival, false, step{canonical.PaymentCapture, 20000}, true},
		{"check-in, capture at check-out", held(20000, "tok"), res(canonical.StatusCheckedIn, 2, "tok", 2), canonical.RatePolicy{Capture: canonical.CaptureAtCheckOut}, arrival, false, none, false},
		{"check-out captures", held(20000, "tok"), res(canonical.StatusCheckedOut, 3, "tok", 2), canonical.RatePolicy{Capture: canonical.CaptureAtCheckOut}, arrival, false, step{canonical.PaymentCapture, 20000}, true},
		{"lower, then check-in: partial capture", held(20000, "tok"), res(canonical.StatusCheckedIn, 3, "tok", 1), flex, arrival, false, step{canonical.PaymentCapture, 10000}, true},
		{"cancel early: void", held(20000, "tok"), res(canonical.StatusCancelled, 2, "tok", 2), flex, early, false, step{canonical.PaymentVoid, 20000}, true},
		{"cancel late: first night", held(20000, "tok"), res(canonical.StatusCancelled, 2, "tok", 2), flex, late, false, step{canonical.PaymentCapture, 10000}, true},
		{"cancel late, percent", held(20000, "tok"), res(canonical.StatusCancelled, 2, "tok", 2), canonical.RatePolicy{FreeCancellationDays: 2, Fee: canonical.FeePercent, FeePercent: 25}, late, false, step{canonical.PaymentCapture, 5000}, true},
		{"no-show: first night by default, no free period", held(20000, "tok"), res(canonical.StatusNoShow, 2, "tok", 2), flex, arrival, false, step{canonical.PaymentCapture, 10000}, true},
		{"no-show: full", held(20000, "tok"), res(canonical.StatusNoShow, 2, "tok", 2), canonical.RatePolicy{NoShowFee: canonical.FeeFull}, arrival.AddDays(1), false, step{canonical.PaymentCapture, 20000}, true},
		{"no-show: no fee", held(20000, "tok"), res(canonical.StatusNoShow, 2, "tok", 2), canonical.RatePolicy{NoShowFee: canonical.FeeNone}, arrival, false, step{canonical.PaymentVoid, 20000}, true},
		{"no-show: the cancellation fee kind does not apply", held(20000, "tok"), res(canonical.StatusNoShow, 2, "tok", 2), canonical.RatePolicy{Fee: canonical.FeeFull}, arrival, false, step{canonical.PaymentCapture, 10000}, true},
		{"cancel captured early: refund all", captured(20000, 0), res(canonical.StatusCancelled, 2, "tok", 2), flex, early, false, step{canonical.PaymentRefund, 20000}, true},
		{"cancel captured late: refund beyond the fee", captured(20000, 0), res(canonical.StatusCancelled, 2, "tok", 2), flex, late, false, step{canonical.PaymentRefund, 10000}, true},
		{"cancel non-refundable: nothing back", captured(20000, 0), res(canonical.StatusCancelled, 2, "tok", 2), canonical.RatePolicy{NonRefundable: true}, early, false, none, false},
		{"cancel, nothing held", nil, res(canonical.StatusCancelled, 2, "tok", 2), flex, early, false, none, false},
		{"captured, cheaper now: refund the difference", captured(20000, 0), res(canonical.StatusConfirmed, 2, "tok", 1), flex, early, false, step{canonical.PaymentRefund, 10000}, true},
		{"declined, same card and amount: no retry", &reservations.PaymentState{Status: canonical.PaymentFailed, TokenHash: tokenHash("tok"), AmountDue: 20000, ReservationVersion: 1}, res(canonical.StatusConfirmed, 2, "tok", 2), flex, early, false, none, false},
		{"declined, other card: retry", &reservations.PaymentState{Status: canonical.PaymentFailed, TokenHash: tokenHash("tok"), AmountDue: 20000, ReservationVersion: 1}, res(canonical.StatusConfirmed, 2, "tok2", 2), flex, early, false, step{canonical.PaymentAuthorize, 20000}, true},
		{"expired: authorize again", &reservations.PaymentState{Status: canonical.PaymentExpired, TokenHash: tokenHash("tok"), AmountDue: 20000, ReservationVersion: 1}, res(canonical.StatusConfirmed, 2, "tok", 2), flex, early, false, step{canonical.PaymentAuthorize, 20000}, true},
	} {
		got, more := next(tc.st, intent{r: tc.r, policy: tc.policy, today: tc.today, features: Features{Adjust: tc.adjust}})
		if more && reasonOf(got, intent{r: tc.r, policy: tc.policy, today: tc.today}) == "" && got.op != canonical.PaymentAuthorize &&
			got.op != canonical.PaymentReauthorize && got.op != canonical.PaymentAdjust {
			t.Errorf("%s: %s gives no reason", tc.name, got.op)
		}
		if got != tc.want || more != tc.wantMore {
			t.Errorf("%s: next = %+v, %v; want %+v, %v", tc.name, got, more, tc.want, tc.wantMore)
		}
		if more && tc.st != nil && !CanTransition(tc.st.Status, statusAfter(got.op)) {
			t.Errorf("%s: %s leads from %s to %s, which the state machine forbids", tc.name, got.op, tc.st.Status, statusAfter(got.op))
		}
	}
}

func TestTransitions(t *testing.T) {
	for _, tc := range []struct {
		from, to canonical.PaymentStatus
		ok       bool
	}{
		{"", canonical.PaymentAuthorized, true},
		{"", canonical.PaymentCaptured, false},
		{canonical.PaymentAuthorized, canonical.PaymentCaptured, true},
		{canonical.PaymentAuthorized, canonical.PaymentRefunded, false},
		{canonical.PaymentCaptured, canonical.PaymentVoided, false},
		{canonical.PaymentCaptured, canonical.PaymentRefunded, true},
		{canonical.PaymentVoided, canonical.PaymentCaptured, false},
		{canonical.PaymentRefunded, canonical.PaymentAuthorized, true}, // a no-show undone
		{canonical.PaymentRefunded, canonical.PaymentCaptured, false},
		{canonical.PaymentFailed, canonical.PaymentAuthorized, true},
	} {
		if got := CanTransition(tc.from, tc.to); got != tc.ok {
			t.Errorf("CanTransition(%q, %q) = %v", tc.from, tc.to, got)
		}
	}
	for from, tos := range allowed {
		if from != "" && !from.Valid() {
			t.Errorf("unknown status %q in the state machine", from)
		}
		for _, to := range tos {
			if !to.Valid() {
				t.Errorf("unknown status %q in the state machine", to)
			}
		}
	}
}

func TestKeysAreStableAndShort(t *testing.T) {
	id := "0190d5a2-0000-7000-8000-000000000001"
	if Key(id, 3, canonical.PaymentCapture) != Key(id, 3, canonical.PaymentCapture) {
		t.Error("a key is not stable")
	}
	if Key(id, 3, canonical.PaymentCapture) == Key(id, 4, canonical.PaymentCapture) {
		t.Error("two versions share a key")
	}
	if n := len(Key(id, 1<<30, canonical.PaymentReauthorize) + "-release"); n > 255 {
		t.Errorf("a key of %d characters", n)
	}
}
