package reservations_test

import (
	"context"
	"errors"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

func TestPaymentStateIsSavedWithOptimisticLocking(t *testing.T) {
	s := newStore(t, 3)
	ctx := context.Background()
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Reservation.ID
	if st, err := s.PaymentState(ctx, id); err != nil || st != nil {
		t.Fatalf("payment before any: %+v, %v", st, err)
	}
	st := &reservations.PaymentState{ReservationID: id, PropertyID: "LIS", Gateway: "stripe", Status: canonical.PaymentAuthorized,
		Reference: "pi_1", Currency: "EUR", Authorized: 24000}
	stale := *st
	ev := reservations.NewEvent(ctx, canonical.EventPaymentAuthorized, "LIS", res.Reservation.CreatedAt, nil, nil)
	tr := &reservations.PaymentTransition{ReservationID: id, Gateway: "stripe", Operation: canonical.PaymentAuthorize,
		To: canonical.PaymentAuthorized, Amount: canonical.NewMoney(24000, "EUR"), EventID: ev.ID, PropertyID: "LIS"}
	if err := s.SavePayment(ctx, reservations.PaymentChange{State: st, Transition: tr, Event: &ev}); err != nil {
		t.Fatal(err)
	}
	if st.Version != 1 {
		t.Fatalf("version after the first save = %d", st.Version)
	}
	// A second worker that also read "no payment" loses.
	if err := s.SavePayment(ctx, reservations.PaymentChange{State: &stale}); !errors.Is(err, reservations.ErrPaymentChanged) {
		t.Fatalf("a second first save: %v", err)
	}
	stale = *st
	st.Captured, st.Authorized, st.Status = 24000, 0, canonical.PaymentCaptured
	if err := s.SavePayment(ctx, reservations.PaymentChange{State: st}); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePayment(ctx, reservations.PaymentChange{State: &stale}); !errors.Is(err, reservations.ErrPaymentChanged) {
		t.Fatalf("a save of version 1 after version 2: %v", err)
	}
	got, err := s.PaymentState(ctx, id)
	if err != nil || got.Status != canonical.PaymentCaptured || got.Version != 2 {
		t.Fatalf("payment = %+v, %v", got, err)
	}
	trs, err := s.PaymentTransitions(ctx, id)
	if err != nil || len(trs) != 1 || trs[0].EventID != ev.ID || trs[0].Amount != canonical.NewMoney(24000, "EUR") {
		t.Fatalf("transitions = %+v, %v", trs, err)
	}

	// A notification is stored once; only a new one naming a payment held
	// now reaches reconcile, with that payment.
	var seen []string
	reconcile := func(n reservations.PaymentNotification, st *reservations.PaymentState) (*reservations.PaymentChange, error) {
		seen = append(seen, n.ID+"/"+st.ReservationID)
		st.Attention = "look"
		return &reservations.PaymentChange{State: st}, nil
	}
	ns := []reservations.PaymentNotification{{ID: "n1", Kind: "captured", Reference: "pi_1", Amount: canonical.NewMoney(24000, "EUR")},
		{ID: "n2", Kind: "captured", Reference: "pi_other"}}
	for i := 0; i < 2; i++ {
		changes, err := s.RecordPaymentNotifications(ctx, "stripe", ns, reconcile)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 - i; len(changes) != want {
			t.Fatalf("round %d: %d changes, want %d", i, len(changes), want)
		}
	}
	if len(seen) != 1 || seen[0] != "n1/"+id {
		t.Fatalf("reconciled %v", seen)
	}
	if n, err := s.PaymentNotificationCount(ctx, "stripe"); err != nil || n != 2 {
		t.Fatalf("notifications stored = %d, %v", n, err)
	}
	if got, _ := s.PaymentState(ctx, id); got.Attention != "look" || got.Version != 3 {
		t.Fatalf("payment after the notification = %+v", got)
	}
	ids, err := s.ExpiringHolds(ctx, res.Reservation.CreatedAt.AddDate(1, 0, 0), 10)
	if err != nil || len(ids) != 0 {
		t.Fatalf("expiring holds of a captured payment: %v, %v", ids, err)
	}
}
