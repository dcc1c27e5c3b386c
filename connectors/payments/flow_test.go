package payments_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
)

// forEachGateway runs test against every gateway, in parallel subtests.
func forEachGateway(t *testing.T, test func(t *testing.T, w *world)) {
	for _, gc := range gatewayCases {
		t.Run(gc.name, func(t *testing.T) {
			test(t, newWorld(t, gc, nil, nil))
		})
	}
}

func wantTypes(t *testing.T, w *world, id string, want ...canonical.EventType) []canonical.Event {
	t.Helper()
	evs := w.paymentEvents(id)
	if got := eventTypes(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("payment events %v, want %v", got, want)
	}
	return evs
}

func TestGuaranteedBookingIsAuthorized(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		r := w.book("FLEX", 30, 2, w.gc.token)
		w.pump(1)
		st := w.state(r.ID)
		if st.Status != canonical.PaymentAuthorized || st.Authorized != 2*nightPrice || st.Reference == "" {
			t.Fatalf("payment %+v, want authorized for 286.00", st)
		}
		if st.HoldExpiresAt == nil || !st.HoldExpiresAt.After(time.Now()) {
			t.Errorf("hold expiry %v, want a time ahead", st.HoldExpiresAt)
		}
		if st.CardMask != "4111XXXXXXXX1111" {
			t.Errorf("card mask %q", st.CardMask)
		}
		holds := w.sim.HoldsOf(r.ID)
		if len(holds) != 1 || holds[0].Authorized != 2*nightPrice || holds[0].Status != gatewaysim.StatusAuthorized {
			t.Fatalf("the gateway holds %+v", holds)
		}
		evs := wantTypes(t, w, r.ID, canonical.EventPaymentAuthorized)
		p := evs[0].Payment
		if p.Gateway != w.gc.name || p.Reference != st.Reference || p.Authorized != canonical.NewMoney(28600, "EUR") || p.ReservationVersion != 1 {
			t.Errorf("payment.authorized carries %+v", p)
		}
		// The gateway's notification comes back signed and is stored.
		eventually(t, "the gateway's notification", func() bool {
			return w.count(`SELECT count(*) FROM payment_notifications WHERE reference = $1`, st.Reference) > 0
		})
		trs, err := w.svc.Transitions(context.Background(), r.ID)
		if err != nil || len(trs) != 1 || trs[0].From != "" || trs[0].To != canonical.PaymentAuthorized ||
			trs[0].IdempotencyKey != payments.Key(r.ID, 1, canonical.PaymentAuthorize) {
			t.Errorf("transitions %+v (%v)", trs, err)
		}
		// A booking without a card guarantee has no payment.
		plain := w.book("FLEX", 30, 1, "")
		w.pump(1)
		if st, _ := w.svc.Payment(context.Background(), plain.ID); st != nil {
			t.Errorf("a booking without a card has payment %+v", st)
		}
	})
}

func TestCancellationInsideFreePeriodIsVoided(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		r := w.book("FLEX", 30, 2, w.gc.token)
		w.pump(1)
		w.update(r.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCancelled })
		w.pump(2)
		st := w.state(r.ID)
		if st.Status != canonical.PaymentVoided || st.Authorized != 0 || st.Captured != 0 {
			t.Fatalf("payment %+v, want voided", st)
		}
		if h, _ := w.sim.Hold(st.Reference); h.Status != gatewaysim.StatusVoided {
			t.Errorf("the gateway has %+v", h)
		}
		wantTypes(t, w, r.ID, canonical.EventPaymentAuthorized, canonical.EventPaymentVoided)
	})
}

func TestLateCancellationIsChargedTheFee(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		// Held, not yet charged: the fee (first night) is captured and the
		// rest of the hold released.
		r := w.book("FLEX", 1, 3, w.gc.token)
		w.pump(1)
		w.update(r.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCancelled })
		w.pump(1)
		st := w.state(r.ID)
		if st.Status != canonical.PaymentCaptured || st.Captured != nightPrice || st.Authorized != 0 {
			t.Fatalf("payment %+v, want the first night captured", st)
		}
		if h, _ := w.sim.Hold(st.Reference); h.Captured != nightPrice || h.Authorized != 0 {
			t.Errorf("the gateway has %+v: the fee charged and the rest released", h)
		}
		evs := wantTypes(t, w, r.ID, canonical.EventPaymentAuthorized, canonical.EventPaymentCaptured)
		if evs[1].Payment.Amount != canonical.NewMoney(nightPrice, "EUR") {
			t.Errorf("payment.captured of %s", evs[1].Payment.Amount)
		}

		// Charged at booking: everything beyond the fee is refunded.
		p := w.book("PREPAID", 1, 3, w.gc.token)
		w.pump(1)
		if st := w.state(p.ID); st.Status != canonical.PaymentCaptured || st.Captured != 3*nightPrice {
			t.Fatalf("prepaid payment %+v, want captured at booking", st)
		}
		w.update(p.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCancelled })
		w.pump(2)
		st = w.state(p.ID)
		if st.Status != canonical.PaymentRefunded || st.Refunded != 2*nightPrice {
			t.Fatalf("prepaid payment %+v, want two nights refunded", st)
		}
		if h, _ := w.sim.Hold(st.Reference); h.Refunded != 2*nightPrice {
			t.Errorf("the gateway refunded %d", h.Refunded)
		}
		wantTypes(t, w, p.ID, canonical.EventPaymentAuthorized, canonical.EventPaymentCaptured, canonical.EventPaymentRefunded)

		// Non-refundable: charged at booking, nothing back.
		n := w.book("NONREF", 20, 2, w.gc.token)
		w.pump(1)
		w.update(n.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCancelled })
		w.pump(1)
		if st := w.state(n.ID); st.Status != canonical.PaymentCaptured || st.Captured != 2*nightPrice || st.Refunded != 0 {
			t.Fatalf("non-refundable payment %+v", st)
		}
	})
}

func TestCaptureFollowsThePolicy(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		in := w.book("FLEX", 0, 2, w.gc.token)
		out := w.book("CHECKOUT", 0, 2, w.gc.token)
		w.pump(1)
		for _, id := range []string{in.ID, out.ID} {
			w.update(id, func(r *canonical.Reservation) { r.Status = canonical.StatusCheckedIn })
		}
		w.pump(1)
		if st := w.state(in.ID); st.Status != canonical.PaymentCaptured || st.Captured != 2*nightPrice {
			t.Errorf("capture at check-in: %+v", st)
		}
		if st := w.state(out.ID); st.Status != canonical.PaymentAuthorized {
			t.Errorf("capture at check-out, checked in: %+v", st)
		}
		w.update(out.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCheckedOut })
		w.pump(1)
		if st := w.state(out.ID); st.Status != canonical.PaymentCaptured || st.Captured != 2*nightPrice {
			t.Errorf("capture at check-out: %+v", st)
		}
	})
}

func TestModificationAdjustsOrReauthorizes(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		r := w.book("FLEX", 0, 2, w.gc.token) // arriving today, to check in below
		w.pump(1)
		first := w.state(r.ID).Reference
		w.update(r.ID, func(r *canonical.Reservation) {
			s := &r.RoomStays[0]
			s.NightlyPrices = append(s.NightlyPrices, canonical.NightlyPrice{Date: s.Departure, Price: canonical.NewMoney(nightPrice, "EUR")})
			s.Departure = s.Departure.AddDays(1)
		})
		w.pump(2)
		st := w.state(r.ID)
		if st.Status != canonical.PaymentAuthorized || st.Authorized != 3*nightPrice || st.AmountDue != 3*nightPrice {
			t.Fatalf("after adding a night: %+v", st)
		}
		switch w.gc.name {
		case "adyen": // adjusted in place
			if st.Reference != first || w.sim.Authorizations(r.ID) != 1 {
				t.Errorf("adyen re-authorized instead of adjusting: %d authorizations", w.sim.Authorizations(r.ID))
			}
			if h, _ := w.sim.Hold(first); h.Authorized != 3*nightPrice || h.Adjustments != 1 {
				t.Errorf("the gateway holds %+v", h)
			}
		case "stripe": // a new hold, the old one released
			if st.Reference == first || w.sim.Authorizations(r.ID) != 2 {
				t.Errorf("stripe: reference %s (was %s), %d authorizations", st.Reference, first, w.sim.Authorizations(r.ID))
			}
			if h, _ := w.sim.Hold(first); h.Status != gatewaysim.StatusVoided {
				t.Errorf("the replaced hold is %s", h.Status)
			}
		}
		wantTypes(t, w, r.ID, canonical.EventPaymentAuthorized, canonical.EventPaymentAuthorized)

		// A lower total: adjusted down, or (Stripe) kept and captured partially.
		w.update(r.ID, func(r *canonical.Reservation) {
			s := &r.RoomStays[0]
			s.NightlyPrices = s.NightlyPrices[:1]
			s.Departure = s.Arrival.AddDays(1)
		})
		w.pump(1)
		w.update(r.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCheckedIn })
		w.pump(1)
		st = w.state(r.ID)
		if st.Status != canonical.PaymentCaptured || st.Captured != nightPrice {
			t.Fatalf("after shortening and check-in: %+v", st)
		}
		if h, _ := w.sim.Hold(st.Reference); h.Captured != nightPrice || h.Authorized != 0 {
			t.Errorf("the gateway has %+v", h)
		}
	})
}

func TestDeclineFailsAndFlagsTheReservation(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		r := w.book("FLEX", 30, 2, w.gc.declined)
		w.pump(2)
		st := w.state(r.ID)
		if st.Status != canonical.PaymentFailed || !st.Declined {
			t.Fatalf("payment %+v, want failed", st)
		}
		evs := wantTypes(t, w, r.ID, canonical.EventPaymentFailed)
		if evs[0].Payment.Reason == "" || evs[0].Payment.Status != canonical.PaymentFailed {
			t.Errorf("payment.failed carries %+v", evs[0].Payment)
		}
		got := w.reservation(r.ID)
		if !got.HasFlag(canonical.FlagPaymentDeclined) {
			t.Fatalf("the reservation is not flagged: %v", got.Flags)
		}
		// The flag made a new version; it is not a reason to try the same card again.
		w.pump(1)
		if n := len(w.paymentEvents(r.ID)); n != 1 {
			t.Errorf("%d payment events after the flag's own event, want 1", n)
		}

		// Another card: authorized, and the flag goes.
		w.update(r.ID, func(r *canonical.Reservation) { r.Guarantee.CardToken = w.gc.token })
		w.pump(1)
		if st := w.state(r.ID); st.Status != canonical.PaymentAuthorized || st.Declined {
			t.Fatalf("after a new card: %+v", st)
		}
		if got := w.reservation(r.ID); got.HasFlag(canonical.FlagPaymentDeclined) {
			t.Errorf("the flag stays after a successful authorization: %v", got.Flags)
		}
		wantTypes(t, w, r.ID, canonical.EventPaymentFailed, canonical.EventPaymentAuthorized)
	})
}

func TestExactlyOneAuthorizationUnderFaultsAndRedelivery(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		// Half of the failures happen after the gateway made the change.
		w.sim.SetFaults(gatewaysim.Faults{ErrorRate: 0.5, TimeoutRate: 0.05, HangFor: 2 * time.Second})
		var ids []string
		for i := 0; i < 3; i++ {
			ids = append(ids, w.book("FLEX", 30+i, 2, w.gc.token).ID)
		}
		w.pump(3)
		w.sim.SetFaults(gatewaysim.Faults{})
		for _, id := range ids {
			if n := w.sim.Authorizations(id); n != 1 {
				t.Errorf("reservation %s: %d authorizations, want 1", id, n)
			}
			if n := w.sim.Executions(payments.Key(id, 1, canonical.PaymentAuthorize)); n != 1 {
				t.Errorf("reservation %s: the authorization ran %d times", id, n)
			}
			if st := w.state(id); st.Status != canonical.PaymentAuthorized {
				t.Errorf("reservation %s: %+v", id, st)
			}
			wantTypes(t, w, id, canonical.EventPaymentAuthorized)
		}
	})
}

func TestHoldsCloseToExpiryAreRenewedOrFlagged(t *testing.T) {
	forEachGateway(t, func(t *testing.T, w *world) {
		r := w.book("FLEX", 60, 2, w.gc.token)
		w.pump(1)
		st := w.state(r.ID)
		if n, err := w.svc.CheckHolds(context.Background()); err != nil || n != 0 {
			t.Fatalf("a fresh hold was renewed: %d, %v", n, err)
		}
		// A day before the hold lapses.
		w.setClock(st.HoldExpiresAt.Add(-24 * time.Hour))
		if n, err := w.svc.CheckHolds(context.Background()); err != nil || n != 1 {
			t.Fatalf("CheckHolds = %d, %v; want one renewal", n, err)
		}
		renewed := w.state(r.ID)
		if renewed.Status != canonical.PaymentAuthorized || renewed.Authorized != 2*nightPrice || renewed.Declined {
			t.Fatalf("after renewal: %+v", renewed)
		}
		switch w.gc.name {
		case "adyen":
			if h, _ := w.sim.Hold(st.Reference); h.Adjustments != 1 {
				t.Errorf("adyen did not extend the hold: %+v", h)
			}
		case "stripe":
			if renewed.Reference == st.Reference || w.sim.Authorizations(r.ID) != 2 {
				t.Errorf("stripe did not place a new hold")
			}
		}
		// Checking again changes nothing until the new hold nears its end.
		if n, _ := w.svc.CheckHolds(context.Background()); n != 0 && w.gc.name == "stripe" {
			t.Errorf("a renewed hold was renewed again")
		}
		wantTypes(t, w, r.ID, canonical.EventPaymentAuthorized, canonical.EventPaymentAuthorized)

		// A hold that lapsed and whose card is now refused: expired, flagged.
		x := w.book("FLEX", 90, 1, w.gc.token)
		w.setClock(time.Time{})
		w.pump(1)
		xs := w.state(x.ID)
		w.sim.SetFaults(gatewaysim.Faults{DeclineAbove: 1}) // the card is over its limit now
		w.setClock(xs.HoldExpiresAt.Add(time.Hour))
		if _, err := w.svc.CheckHolds(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := w.state(x.ID); st.Status != canonical.PaymentExpired || !st.Declined {
			t.Fatalf("a lapsed hold that cannot be renewed: %+v", st)
		}
		if !w.reservation(x.ID).HasFlag(canonical.FlagPaymentDeclined) {
			t.Error("the reservation is not flagged")
		}
	})
}
