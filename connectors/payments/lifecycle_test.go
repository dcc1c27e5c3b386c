package payments_test

import (
	"context"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
)

// lastReason returns the reason recorded with a reservation's last payment operation.
func lastReason(t *testing.T, w *world, id string) string {
	t.Helper()
	trs, err := w.svc.Transitions(context.Background(), id)
	if err != nil || len(trs) == 0 {
		t.Fatalf("transitions of %s: %v %v", id, trs, err)
	}
	return trs[len(trs)-1].Reason
}

// TestNoShowCapturesThePolicyFee: a no-show on the arrival day captures the
// rate plan's no-show fee and releases the rest of the hold, once however
// often the event is delivered.
func TestNoShowCapturesThePolicyFee(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		for _, tt := range []struct {
			plan  string
			fee   int64
			rule  string
			types []canonical.EventType
		}{
			// FLEX is free to cancel two days ahead, but a no-show has no free period.
			{"FLEX", nightPrice, "no-show fee: first night", []canonical.EventType{canonical.EventPaymentAuthorized, canonical.EventPaymentCaptured}},
			{"HALFNOSHOW", 3 * nightPrice / 2, "no-show fee: 50% of the total", []canonical.EventType{canonical.EventPaymentAuthorized, canonical.EventPaymentCaptured}},
			{"FREENOSHOW", 0, "no-show fee: none", []canonical.EventType{canonical.EventPaymentAuthorized, canonical.EventPaymentVoided}},
		} {
			r := w.book(tt.plan, 0, 3, w.gc.token)
			w.pump(1)
			w.update(r.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusNoShow })
			w.pump(2) // delivered twice: acted on once
			st := w.state(r.ID)
			if st.Captured != tt.fee || st.Authorized != 0 {
				t.Fatalf("%s: payment %+v, want %d captured and nothing held", tt.plan, st, tt.fee)
			}
			if h, _ := w.sim.Hold(st.Reference); h.Captured != tt.fee || h.Authorized != 0 {
				t.Errorf("%s: the gateway has %+v", tt.plan, h)
			}
			if w.sim.Authorizations(r.ID) != 1 {
				t.Errorf("%s: %d authorizations", tt.plan, w.sim.Authorizations(r.ID))
			}
			wantTypes(t, w, r.ID, tt.types...)
			if got := lastReason(t, w, r.ID); got != tt.rule {
				t.Errorf("%s: reason %q, want %q", tt.plan, got, tt.rule)
			}
		}
	})
}

// TestUndoNoShowPaysTheFeeBackAndHoldsAgain: the guest came after all; the
// fee is refunded, the total held again, and check-in and check-out
// capture as the policy says.
func TestUndoNoShowPaysTheFeeBackAndHoldsAgain(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		r := w.book("CHECKOUT", 0, 2, w.gc.token)
		w.pump(1)
		first := w.state(r.ID).Reference
		w.update(r.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusNoShow })
		w.pump(1)
		w.update(r.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusConfirmed })
		w.pump(2)
		st := w.state(r.ID)
		if st.Status != canonical.PaymentAuthorized || st.Authorized != 2*nightPrice || st.Reference == first {
			t.Fatalf("after the undo: %+v, want a new hold of the total", st)
		}
		if h, _ := w.sim.Hold(first); h.Captured != nightPrice || h.Refunded != nightPrice {
			t.Errorf("the no-show's payment at the gateway: %+v, want the fee captured and refunded", h)
		}
		if got := lastReason(t, w, r.ID); got != "no-show undone: the total held again" {
			t.Errorf("reason %q", got)
		}
		w.update(r.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCheckedIn })
		w.pump(1)
		if st := w.state(r.ID); st.Status != canonical.PaymentAuthorized {
			t.Fatalf("capture at check-out, checked in: %+v", st)
		}
		w.update(r.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCheckedOut })
		w.pump(2)
		st = w.state(r.ID)
		if st.Status != canonical.PaymentCaptured || st.Captured != 2*nightPrice {
			t.Fatalf("after check-out: %+v", st)
		}
		if h, _ := w.sim.Hold(st.Reference); h.Captured != 2*nightPrice || h.Status != gatewaysim.StatusCaptured {
			t.Errorf("the gateway has %+v", h)
		}
		if got := lastReason(t, w, r.ID); got != "check-out: the balance captured" {
			t.Errorf("reason %q", got)
		}
		wantTypes(t, w, r.ID, canonical.EventPaymentAuthorized, canonical.EventPaymentCaptured, canonical.EventPaymentRefunded,
			canonical.EventPaymentAuthorized, canonical.EventPaymentCaptured)
	})
}
