package bookingcom_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/bookingcom"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/reservations"
)

// TestNoShowsAndDeclinedCardsAreReported: Booking.com hears of a no-show
// (is_no_show) and of a card the gateway declined (cc_is_invalid) in its
// Reporting API's format, each once under 5xx and redelivery; other
// channels' bookings are not reported.
func TestNoShowsAndDeclinedCardsAreReported(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	noShow := w.sim.Book(guestBooking("118020401", "2027-04-10", 2))
	card := w.sim.Book(guestBooking("118020401", "2027-04-12", 2))
	if err := w.conn.Poll(ctx, w.sink); err != nil {
		t.Fatal(err)
	}
	w.sim.SetFaults(channelsim.Faults{ErrorRate: 0.3})
	w.store.SetClock(func() time.Time { return time.Date(2027, 4, 10, 21, 0, 0, 0, time.UTC) }) // the first arrival day
	update := func(external string, fn func(*canonical.Reservation)) *canonical.Reservation {
		t.Helper()
		r, err := w.store.FindByExternalID(ctx, "LIS", bookingcom.Name, external)
		if err != nil {
			t.Fatal(err)
		}
		r, err = w.store.Update(ctx, reservations.AllProperties, r.ID, reservations.UpdateOptions{}, func(x *canonical.Reservation) error {
			fn(x)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := update(noShow, func(r *canonical.Reservation) { r.Status = canonical.StatusNoShow })
	b := update(card, func(r *canonical.Reservation) {
		r.Guarantee = &canonical.Guarantee{Type: "card", CardToken: "tok_bcom_1", CardMask: "4111XXXXXXXX1111"}
	})
	b = update(card, func(r *canonical.Reservation) { r.SetFlag(canonical.FlagPaymentDeclined) }) // as the payment flow flags it
	update(card, func(r *canonical.Reservation) { r.Comments = []string{"still flagged"} })
	conformance.DeliverEvents(t, w.pool, w.conn, a.ID, 3)
	conformance.DeliverEvents(t, w.pool, w.conn, b.ID, 3)

	if got := w.sim.Reports(noShow); !reflect.DeepEqual(got, []bookingcom.Report{{Kind: bookingcom.ReportNoShow, WaivedFees: "no"}}) {
		t.Errorf("Booking.com has %+v for the no-show", got)
	}
	if got := w.sim.Reports(card); !reflect.DeepEqual(got, []bookingcom.Report{{Kind: bookingcom.ReportInvalidCard}}) {
		t.Errorf("Booking.com has %+v for the declined card", got)
	}

	// A booking of another channel is not Booking.com's to hear of.
	other, err := w.store.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: canonical.Reservation{
		PropertyID: "LIS", Channel: "direct", PrimaryGuest: canonical.Guest{Surname: "Costa"},
		RoomStays: []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: date("2027-04-10"), Departure: date("2027-04-11"), Adults: 1,
			NightlyPrices: []canonical.NightlyPrice{{Date: date("2027-04-10"), Price: canonical.NewMoney(10000, "EUR")}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	calls := w.sim.Calls()
	if _, err := w.store.Update(ctx, reservations.AllProperties, other.Reservation.ID, reservations.UpdateOptions{}, func(x *canonical.Reservation) error {
		x.Status = canonical.StatusNoShow
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	conformance.DeliverEvents(t, w.pool, w.conn, other.Reservation.ID, 3)
	if w.sim.Calls() != calls {
		t.Errorf("a direct booking's no-show was sent to Booking.com")
	}
}
