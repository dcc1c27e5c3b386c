package bookingcom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/bookingcom"
	"github.com/roomwire/roomwire/connectors/channelsim"
)

func TestPullAcknowledgeModifyCancel(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id := w.sim.Book(guestBooking("118020401", "2027-04-10", 2))
	if err := w.conn.Poll(ctx, w.sink); err != nil {
		t.Fatal(err)
	}
	if !w.sim.Acknowledged(id) {
		t.Fatal("not acknowledged")
	}
	if ref, _ := w.sim.Acks.Reference(id); ref != connectors.ConfirmationReference(bookingcom.Name, "1180204", id) {
		t.Errorf("reference %q", ref)
	}
	r, err := w.store.FindByExternalID(ctx, "LIS", bookingcom.Name, id)
	if err != nil || r.RoomStays[0].RoomType != "DBL" || r.Version != 1 {
		t.Fatalf("stored %+v %v", r, err)
	}
	w.sim.Modify(id, func(r *canonical.Reservation) { r.RoomStays[0].Adults = 1 })
	if err := w.conn.Poll(ctx, w.sink); err != nil {
		t.Fatal(err)
	}
	r, _ = w.store.FindByExternalID(ctx, "LIS", bookingcom.Name, id)
	if r.Version != 2 || r.RoomStays[0].Adults != 1 || !w.sim.Acknowledged(id) {
		t.Errorf("after modification: version %d adults %d acked %v", r.Version, r.RoomStays[0].Adults, w.sim.Acknowledged(id))
	}
	w.sim.Cancel(id)
	if err := w.conn.Poll(ctx, w.sink); err != nil {
		t.Fatal(err)
	}
	r, _ = w.store.FindByExternalID(ctx, "LIS", bookingcom.Name, id)
	if r.Status != canonical.StatusCancelled {
		t.Errorf("after cancellation: %s", r.Status)
	}
	if m := w.conn.Metrics(); m.Acknowledged != 3 || m.Unacknowledged != 0 {
		t.Errorf("metrics %+v", m)
	}
}

// A change made before the original was acknowledged arrives as a new booking.
func TestChangeBeforeAcknowledgement(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.sink.err = connectors.Retryable(errors.New("kafka unavailable"))
	id := w.sim.Book(guestBooking("118020401", "2027-04-10", 2))
	if err := w.conn.Poll(ctx, w.sink); err != nil {
		t.Fatal(err)
	}
	if w.sim.Acknowledged(id) {
		t.Fatal("acknowledged before the booking was durable")
	}
	if st := w.conn.Status(); len(st) != 1 || st[0].State != "delivering" || !strings.Contains(st[0].LastError, "kafka") {
		t.Errorf("status %+v", st)
	}
	w.sim.Modify(id, func(r *canonical.Reservation) {
		r.RoomStays[0].Departure = r.RoomStays[0].Departure.AddDays(1)
		r.RoomStays[0].NightlyPrices = append(r.RoomStays[0].NightlyPrices, canonical.NightlyPrice{Date: date("2027-04-12"), Price: canonical.NewMoney(13200, "EUR")})
		r.Total = canonical.NewMoney(39600, "EUR")
	})
	w.sink.err = nil
	if err := w.conn.Poll(ctx, w.sink); err != nil {
		t.Fatal(err)
	}
	r, err := w.store.FindByExternalID(ctx, "LIS", bookingcom.Name, id)
	if err != nil || r.Version != 1 || r.RoomStays[0].Departure != date("2027-04-13") {
		t.Fatalf("stored %+v %v", r, err)
	}
	if !w.sim.Acknowledged(id) || len(w.conn.Status()) != 0 {
		t.Error("not acknowledged after delivery")
	}
}

// An acknowledged booking listed again is acknowledged again, never imported twice.
func TestAcknowledgedNeverImportedTwice(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.sim.SetFaults(channelsim.Faults{Duplicates: 2})
	id := w.sim.Book(guestBooking("118020401", "2027-04-10", 1))
	for i := 0; i < 4; i++ {
		if err := w.conn.Poll(ctx, w.sink); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.sink.count(); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
	if n := w.sim.Acks.Count(id); n != 3 {
		t.Errorf("%d acknowledgements of three listings, want 3", n)
	}
}

// A booking Roomwire cannot take is not acknowledged; the connector warns
// before Booking.com's deadline, and says why.
func TestDeadlineWarning(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	id := w.sim.Book(guestBooking("118020499", "2027-04-10", 1)) // room type not mapped
	if err := w.conn.Poll(ctx, w.sink); err != nil {
		t.Fatal(err)
	}
	st := w.conn.Status()
	if w.sim.Acknowledged(id) || len(st) != 1 || (st[0].State != "quarantined" && st[0].State != "unmapped") || !strings.Contains(st[0].LastError, "118020499") {
		t.Fatalf("status %+v", st)
	}
	if w.conn.Metrics().DeadlineWarnings != 0 {
		t.Fatal("warned too early")
	}
	w.clock.Add(21 * time.Minute)
	w.conn.Poll(ctx, w.sink)
	w.conn.Poll(ctx, w.sink)
	m := w.conn.Metrics()
	if m.DeadlineWarnings != 1 || m.NearDeadline != 1 || !w.conn.Status()[0].Warned {
		t.Errorf("metrics %+v", m)
	}
	if !strings.Contains(w.logs.String(), "goes to the hotel by email") {
		t.Error("no warning in the log")
	}
	w.clock.Add(10 * time.Minute)
	if got := w.sim.SweepDeadlines(); len(got) != 1 || !w.sim.Emailed(id) {
		t.Errorf("emailed %v", got)
	}
}

func TestPushARI(t *testing.T) {
	w := newWorld(t)
	u := canonical.ARIUpdate{PropertyID: "1180204",
		Availability: []canonical.AvailabilityUpdate{{RoomType: "118020401", From: date("2027-04-10"), To: date("2027-04-12"), Available: 0}},
		Rates:        []canonical.RateUpdate{{RoomType: "118020401", RatePlan: "50923412", From: date("2027-04-10"), To: date("2027-04-10"), Rate: canonical.Rate{Price: canonical.NewMoney(9900, "EUR")}}}}
	if err := w.conn.PushARI(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if n, ok := w.sim.ARI.Availability("1180204", "118020401", date("2027-04-11")); !ok || n != 0 {
		t.Errorf("availability %d %v", n, ok)
	}
	if p, _ := w.sim.ARI.Rate("1180204", "118020401", "50923412", date("2027-04-10")); p.Minor != 9900 {
		t.Errorf("rate %s", p)
	}
	w.sim.SetFaults(channelsim.Faults{Status: 429, RetryAfter: 600})
	if err := w.conn.PushARI(context.Background(), u); connectors.ClassOf(err) != connectors.ClassRetryable {
		t.Errorf("429: %v", err)
	}
}
