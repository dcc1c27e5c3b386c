package payments

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

// allowed lists the transitions of the state machine. "" is the state of a
// reservation with no payment yet. Staying in a state is allowed where an
// operation changes amounts but not the status (adjust, renew, a second
// refund).
var allowed = map[canonical.PaymentStatus][]canonical.PaymentStatus{
	"":                          {canonical.PaymentAuthorized, canonical.PaymentFailed},
	canonical.PaymentFailed:     {canonical.PaymentAuthorized, canonical.PaymentFailed},
	canonical.PaymentExpired:    {canonical.PaymentAuthorized, canonical.PaymentFailed},
	canonical.PaymentVoided:     {canonical.PaymentAuthorized, canonical.PaymentFailed},
	canonical.PaymentAuthorized: {canonical.PaymentAuthorized, canonical.PaymentCaptured, canonical.PaymentVoided, canonical.PaymentExpired},
	canonical.PaymentCaptured:   {canonical.PaymentRefunded},
	// A refunded payment is held again when a no-show is undone.
	canonical.PaymentRefunded: {canonical.PaymentRefunded, canonical.PaymentAuthorized},
}

// CanTransition reports whether the state machine allows from -> to.
func CanTransition(from, to canonical.PaymentStatus) bool {
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

// step is the next gateway operation the flow must make.
type step struct {
	op     canonical.PaymentOperation
	amount int64
}

// intent is what the plan is worked out from: the reservation as the event
// carries it, its rate plan's policy, the date at the property, and whether
// the gateway can adjust holds.
type intent struct {
	r        *canonical.Reservation
	policy   canonical.RatePolicy
	today    canonical.Date
	features Features
	// undoNoShow: the event undid a no-show, so the no-show fee is paid
	// back and the total held again.
	undoNoShow bool
}

// tokenHash fingerprints a card token, to tell a new card from the same one
// without keeping the token a second time.
func tokenHash(token string) []byte {
	if token == "" {
		return nil
	}
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// cardToken returns the reservation's card token, or "" when it is not
// guaranteed by a card.
func cardToken(r *canonical.Reservation) string {
	if g := r.Guarantee; g != nil && g.Type == "card" {
		return g.CardToken
	}
	return ""
}

// next returns the next operation that brings the payment st (nil when the
// reservation has none) in line with in, or false when nothing is left to do.
// It is called again after each operation, so a plan of several operations
// (authorize, then capture at booking) unfolds one step at a time and
// resumes where it stopped after a failure.
func next(st *reservations.PaymentState, in intent) (step, bool) {
	r := in.r
	if st != nil && r.Version <= st.ReservationVersion {
		return step{}, false // this version, or a newer one, was acted on
	}
	token := cardToken(r)
	total := r.Total.Minor
	switch r.Status {
	case canonical.StatusCancelled, canonical.StatusNoShow:
		return cancellation(st, in)
	case canonical.StatusConfirmed, canonical.StatusCheckedIn, canonical.StatusCheckedOut:
	default:
		return step{}, false
	}
	if st == nil || st.Status == canonical.PaymentVoided || st.Status == canonical.PaymentExpired || st.Status == canonical.PaymentFailed {
		if token == "" || total <= 0 {
			return step{}, false
		}
		// A declined card is tried again only when something changed that
		// could make it pass: another card, or another amount.
		if st != nil && st.Status == canonical.PaymentFailed &&
			bytes.Equal(st.TokenHash, tokenHash(token)) && st.AmountDue == total {
			return step{}, false
		}
		return step{op: canonical.PaymentAuthorize, amount: total}, true
	}
	if st.Status == canonical.PaymentAuthorized {
		switch {
		case token == "":
			// The card guarantee was withdrawn: release the hold.
			return step{op: canonical.PaymentVoid, amount: st.Authorized}, true
		case !bytes.Equal(st.TokenHash, tokenHash(token)):
			return step{op: canonical.PaymentReauthorize, amount: total}, true
		case total != st.Authorized && in.features.Adjust:
			return step{op: canonical.PaymentAdjust, amount: total}, true
		case total > st.Authorized:
			return step{op: canonical.PaymentReauthorize, amount: total}, true
		}
		// A lower total on a gateway that cannot lower a hold: keep the
		// hold and capture less.
		if captureDue(in) {
			return step{op: canonical.PaymentCapture, amount: min(total, st.Authorized)}, true
		}
		return step{}, false
	}
	if in.undoNoShow && (st.Status == canonical.PaymentCaptured || st.Status == canonical.PaymentRefunded) {
		if net := st.Captured - st.Refunded; net > 0 {
			return step{op: canonical.PaymentRefund, amount: net}, true
		}
		if token != "" && total > 0 {
			return step{op: canonical.PaymentAuthorize, amount: total}, true
		}
		return step{}, false
	}
	// Captured (or refunded): pay back what the reservation no longer costs.
	// A higher total after capture is left to the hotel (see Attention).
	if net := st.Captured - st.Refunded; total < net {
		return step{op: canonical.PaymentRefund, amount: net - total}, true
	}
	return step{}, false
}

// captureDue reports whether the policy charges the guarantee by now.
func captureDue(in intent) bool {
	switch in.policy.CaptureAt() {
	case canonical.CaptureAtBooking:
		return true
	case canonical.CaptureAtCheckIn:
		return in.r.Status == canonical.StatusCheckedIn || in.r.Status == canonical.StatusCheckedOut
	}
	return in.r.Status == canonical.StatusCheckedOut
}

// cancellation plans a cancelled or no-show reservation: inside the free
// period the hold is voided; after it the fee is captured (and the rest of
// the hold released) or, when the guarantee was already charged, everything
// beyond the fee refunded.
func cancellation(st *reservations.PaymentState, in intent) (step, bool) {
	if st == nil {
		return step{}, false
	}
	fee, _, err := feeOf(in)
	if err != nil {
		// The policy was validated when stored; an unknown fee kind charges
		// nothing rather than guessing.
		fee = canonical.NewMoney(0, in.r.Total.Currency)
	}
	switch st.Status {
	case canonical.PaymentAuthorized:
		if fee.Minor <= 0 {
			return step{op: canonical.PaymentVoid, amount: st.Authorized}, true
		}
		return step{op: canonical.PaymentCapture, amount: min(fee.Minor, st.Authorized)}, true
	case canonical.PaymentCaptured, canonical.PaymentRefunded:
		if back := st.Captured - st.Refunded - fee.Minor; back > 0 {
			return step{op: canonical.PaymentRefund, amount: back}, true
		}
	}
	return step{}, false
}

// feeOf returns what the cancellation or no-show of in.r costs under its
// policy, and the rule that set it.
func feeOf(in intent) (canonical.Money, string, error) {
	if in.r.Status == canonical.StatusNoShow {
		return in.policy.NoShowFeeOf(in.r)
	}
	fee, err := in.policy.CancellationFee(in.r, in.today)
	switch {
	case err != nil:
		return fee, "", err
	case in.policy.NonRefundable:
		return fee, "cancellation fee: non-refundable rate, the full total", nil
	case fee.Minor == 0:
		return fee, fmt.Sprintf("cancelled at least %d day(s) before arrival: free", in.policy.FreeCancellationDays), nil
	}
	return fee, fmt.Sprintf("cancellation fee: cancelled less than %d day(s) before arrival", in.policy.FreeCancellationDays), nil
}

// reasonOf says which rule of the policy a step applies; it is recorded
// with the operation and shown with the reservation's payments.
func reasonOf(stp step, in intent) string {
	r := in.r
	switch {
	case in.undoNoShow && stp.op == canonical.PaymentRefund:
		return "no-show undone: the fee paid back"
	case in.undoNoShow && stp.op == canonical.PaymentAuthorize:
		return "no-show undone: the total held again"
	case r.Status == canonical.StatusCancelled || r.Status == canonical.StatusNoShow:
		_, rule, _ := feeOf(in)
		if stp.op == canonical.PaymentRefund {
			return rule + "; the rest paid back"
		}
		return rule
	case stp.op == canonical.PaymentCapture && r.Status == canonical.StatusCheckedOut:
		return "check-out: the balance captured"
	case stp.op == canonical.PaymentCapture && r.Status == canonical.StatusCheckedIn:
		return "check-in: captured (capture at_check_in)"
	case stp.op == canonical.PaymentCapture:
		return "captured at booking (capture " + string(in.policy.CaptureAt()) + ")"
	case stp.op == canonical.PaymentRefund:
		return "the reservation costs less: the difference paid back"
	case stp.op == canonical.PaymentVoid:
		return "the card guarantee was withdrawn"
	}
	return ""
}

// feeCharged is the fee an operation charges (a capture of the fee), keeps
// (a refund of everything beyond it) or pays back (a no-show undone).
func feeCharged(st *reservations.PaymentState, stp step, in intent) int64 {
	switch {
	case in.undoNoShow && stp.op == canonical.PaymentRefund:
		return -stp.amount
	case in.r.Status != canonical.StatusCancelled && in.r.Status != canonical.StatusNoShow:
		return 0
	case stp.op == canonical.PaymentCapture:
		return stp.amount
	case stp.op == canonical.PaymentRefund && st != nil:
		return st.Captured - st.Refunded - stp.amount
	}
	return 0
}

// statusAfter is the status a successful operation leads to.
func statusAfter(op canonical.PaymentOperation) canonical.PaymentStatus {
	switch op {
	case canonical.PaymentCapture:
		return canonical.PaymentCaptured
	case canonical.PaymentVoid:
		return canonical.PaymentVoided
	case canonical.PaymentRefund:
		return canonical.PaymentRefunded
	}
	return canonical.PaymentAuthorized
}

// eventFor is the event type a transition to status publishes.
func eventFor(to canonical.PaymentStatus) canonical.EventType {
	switch to {
	case canonical.PaymentAuthorized:
		return canonical.EventPaymentAuthorized
	case canonical.PaymentCaptured:
		return canonical.EventPaymentCaptured
	case canonical.PaymentVoided:
		return canonical.EventPaymentVoided
	case canonical.PaymentRefunded:
		return canonical.EventPaymentRefunded
	}
	return canonical.EventPaymentFailed
}
