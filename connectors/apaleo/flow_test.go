package apaleo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// deadLetter is an event the relay gave up on, with the reason.
type deadLetter struct {
	event canonical.Event
	err   error
}

// relay stands in for the router's outbox relay and consumer until they are
// wired here: it hands every unpublished reservation event to handle, in
// order, twice (as a redelivering broker may), retries retryable failures
// a bounded number of times and dead-letters the rest.
func (w *world) relay(handle func(context.Context, canonical.Event) error) []deadLetter {
	w.t.Helper()
	ctx := context.Background()
	list := pgtest.Outbox(w.t, w.pool, pgtest.OutboxQuery{Topic: canonical.TopicReservationEvents, Unpublished: true})
	var dead []deadLetter
	for _, r := range list {
		e := r.Event
		ectx := canonical.WithCorrelationID(ctx, e.CorrelationID)
		for delivery := 0; delivery < 2; delivery++ {
			var err error
			for attempt := 0; attempt < 20; attempt++ {
				if err = handle(ectx, e); err == nil || !connectors.IsRetryable(err) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err != nil {
				dead = append(dead, deadLetter{e, err})
				break
			}
		}
		pgtest.MarkPublished(w.t, w.pool, r.ID)
	}
	return dead
}

func (w *world) book(ctx context.Context, external string) *canonical.Reservation {
	w.t.Helper()
	res, err := w.store.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: canonical.Reservation{
		PropertyID: "LIS", Channel: "bookingcom", ExternalID: external,
		PrimaryGuest: canonical.Guest{GivenName: "Marta", Surname: "Silva", Email: "marta.silva@example.com"},
		RoomStays:    []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: date("2027-04-10"), Departure: date("2027-04-12"), Adults: 2, ChildrenAges: []int{7}}},
		Guarantee:    &canonical.Guarantee{Type: "card", CardToken: "tok_1", CardMask: "XXXXXXXXXXXX4242"},
	}})
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Reservation
}

func (w *world) simReservations(externalCode string) []*apaleo.Reservation {
	var out []*apaleo.Reservation
	for _, r := range w.sim.Reservations() {
		if r.ExternalCode == externalCode {
			out = append(out, r)
		}
	}
	return out
}

func TestRoomwireReservationReachesApaleoExactlyOnce(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{ErrorRate: 0.3, DuplicateWebhooks: 2})
	ctx := canonical.WithCorrelationID(context.Background(), "corr-outbound-1")
	r := w.book(ctx, "4105882311")

	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	if n := w.sim.BookingsWithKey(apaleo.IdempotencyKey(r.ID)); n != 1 {
		t.Fatalf("%d bookings in Apaleo, want 1", n)
	}
	got := w.simReservations("4105882311")
	if len(got) != 1 {
		t.Fatalf("%d Apaleo reservations for the booking, want 1", len(got))
	}
	a := got[0]
	if a.RatePlan.ID != "LIS-FLEX-DBL" || a.UnitGroup.ID != "LIS-DBL" || a.ChannelCode != apaleo.DefaultChannelCode ||
		a.Source != "bookingcom" || a.Adults != 2 || len(a.ChildrenAges) != 1 || a.TotalGrossAmount.Amount != "264.00" {
		t.Errorf("Apaleo has %+v", a)
	}
	link, err := w.res.Links.Get(ctx, apaleo.Name, r.ID)
	if err != nil || link.PartnerIDs[0] != a.ID || link.PartnerGroupID != a.BookingID {
		t.Fatalf("link %+v, %v; want Apaleo ids %s/%s", link, err, a.BookingID, a.ID)
	}

	// A longer stay is amended in Apaleo.
	_, err = w.store.Update(ctx, reservations.AllProperties, r.ID, reservations.UpdateOptions{}, func(x *canonical.Reservation) error {
		x.RoomStays[0].Departure = date("2027-04-13")
		x.RoomStays[0].NightlyPrices = nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	a = w.sim.Reservation(a.ID)
	if !strings.HasPrefix(a.Departure, "2027-04-13") || len(a.TimeSlices) != 3 {
		t.Errorf("after the amendment Apaleo has departure %s and %d nights", a.Departure, len(a.TimeSlices))
	}

	// And the cancellation follows.
	if _, err := w.store.Cancel(ctx, reservations.AllProperties, r.ID, reservations.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	if a = w.sim.Reservation(a.ID); a.Status != apaleo.StatusCanceled {
		t.Errorf("Apaleo status %s, want Canceled", a.Status)
	}
	if n := w.sim.BookingsWithKey(apaleo.IdempotencyKey(r.ID)); n != 1 || len(w.simReservations("4105882311")) != 1 {
		t.Errorf("%d bookings in Apaleo after amend and cancel, want still 1", n)
	}

	// Apaleo's webhooks about these changes (sent three times each) are
	// Roomwire's own echo: nothing new appears in Roomwire.
	w.sim.WaitWebhooks()
	page, err := w.store.List(ctx, reservations.AllProperties, reservations.Filter{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("Roomwire has %d reservations, want 1 (%v)", len(page.Items), err)
	}
}

func TestApaleoBookingReachesRoomwireExactlyOnce(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{ErrorRate: 0.3, DuplicateWebhooks: 2})
	ctx := context.Background()
	booked, err := w.sim.CreateBooking(frontDeskBooking("LIS-FLEX-SGL", "2027-05-10", 3))
	if err != nil {
		t.Fatal(err)
	}
	id := booked.ReservationIDs[0].ID
	var r *canonical.Reservation
	eventually(t, "the Apaleo booking reaches Roomwire", func() bool {
		r, err = w.store.FindByExternalID(ctx, "LIS", apaleo.Channel, id)
		return err == nil
	})
	w.sim.WaitWebhooks()
	page, err := w.store.List(ctx, reservations.AllProperties, reservations.Filter{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("Roomwire has %d reservations after duplicate webhooks, want 1 (%v)", len(page.Items), err)
	}
	r = &page.Items[0]
	s := r.RoomStays[0]
	if r.Version != 1 || r.Status != canonical.StatusConfirmed || s.RoomType != "SGL" || s.RatePlan != "FLEX-SGL" ||
		len(s.NightlyPrices) != 3 || r.Total != canonical.NewMoney(29400, "EUR") || len(s.ChildrenAges) != 1 {
		t.Errorf("Roomwire has %+v", r)
	}

	// On the arrival day, the front desk checks the guest in; Roomwire follows.
	w.store.SetClock(func() time.Time { return time.Date(2027, 5, 10, 15, 0, 0, 0, time.UTC) })
	if err := w.sim.SetStatus(id, apaleo.StatusInHouse); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the check-in reaches Roomwire", func() bool {
		r, err = w.store.FindByExternalID(ctx, "LIS", apaleo.Channel, id)
		return err == nil && r.Status == canonical.StatusCheckedIn
	})

	// Roomwire's events about it are not sent back to Apaleo.
	posts := w.sim.Stats().BookingPosts
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	if w.sim.Stats().BookingPosts != posts {
		t.Error("a booking that came from Apaleo was sent back to it")
	}
}

func TestRejectedRatePlanIsDeadLetteredThenReplaysOnce(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{})
	ctx := context.Background()
	// Roomwire's FLEX-DBL points at a rate plan Apaleo does not have yet.
	mappings := append([]connectors.Mapping(nil), testMappings...)
	for i := range mappings {
		if mappings[i].Roomwire == "FLEX-DBL" {
			mappings[i].Partner = "LIS-NRF-DBL"
		}
	}
	if err := w.res.Mappings.Replace(ctx, apaleo.Name, mappings); err != nil {
		t.Fatal(err)
	}
	r := w.book(ctx, "BDC-422")
	dead := w.relay(w.conn.HandleEvent)
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	err := dead[0].err
	want := "Combination of RatePlan 'LIS-NRF-DBL' and UnitGroup 'unknown' is not configured."
	var he *connectors.HTTPError
	if !errors.As(err, &he) || he.Status != 422 || !strings.Contains(err.Error(), want) || connectors.ClassOf(err) != connectors.ClassPermanent {
		t.Fatalf("dead letter reason %q (class %s); want a permanent 422 with Apaleo's text", err, connectors.ClassOf(err))
	}

	// The rate plan is configured in Apaleo; replaying books it, once.
	w.sim.AddRatePlan(apaleosim.RatePlan{ID: "LIS-NRF-DBL", Property: "LIS", UnitGroup: "LIS-DBL", Price: canonical.NewMoney(12000, "EUR")})
	for i := 0; i < 2; i++ {
		if err := w.conn.HandleEvent(ctx, dead[0].event); err != nil {
			t.Fatalf("replay %d: %v", i+1, err)
		}
	}
	if n := w.sim.BookingsWithKey(apaleo.IdempotencyKey(r.ID)); n != 1 {
		t.Errorf("%d bookings after replaying twice, want 1", n)
	}
}

func TestUnmappedRoomwireCodeIsUnmappedClass(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{})
	ctx := context.Background()
	if err := w.res.Mappings.Replace(ctx, apaleo.Name, testMappings[:3]); err != nil { // no rate plans
		t.Fatal(err)
	}
	w.book(ctx, "BDC-UNMAPPED")
	dead := w.relay(w.conn.HandleEvent)
	if len(dead) != 1 || connectors.ClassOf(dead[0].err) != connectors.ClassUnmapped || !strings.Contains(dead[0].err.Error(), `"FLEX-DBL"`) {
		t.Fatalf("dead letters %v; want one unmapped error naming FLEX-DBL", dead)
	}
	if err := w.res.Mappings.Replace(ctx, apaleo.Name, testMappings); err != nil {
		t.Fatal(err)
	}
	if err := w.conn.HandleEvent(ctx, dead[0].event); err != nil {
		t.Fatalf("replay after mapping: %v", err)
	}
}

// A webhook whose ids hold bytes PostgreSQL refuses gets a 400 naming the
// field, not a 503 that would make Apaleo send it again forever.
func TestWebhookWithBadBytesIsRefused(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{})
	for _, body := range []string{
		`{"id":"wh-1\u0000","topic":"Reservation","type":"created","data":{"entityId":"ABC-1"}}`,
		`{"id":"wh-2","topic":"Reservation","type":"created","data":{"entityId":"ABC\u0000"}}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, w.hooks.URL+"/v1/connectors/apaleo/webhooks", strings.NewReader(body))
		req.SetBasicAuth("apaleo", webhookPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(strings.ToLower(string(raw)), "sql") {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, raw)
		}
	}
}

// A booking of several rooms reaches Apaleo as one reservation per room,
// each with its own primary guest and the room's own total; adding a room
// adds a reservation to the Apaleo booking and removing one cancels its
// reservation, instead of being dead-lettered. Apaleo fails now and then,
// some failures after making the change.
func TestMultiRoomBookingReachesApaleoRoomByRoom(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{ErrorRate: 0.3})
	ctx := context.Background()
	roomTotal := canonical.NewMoney(30000, "EUR") // the channel's total for room 1: more than its nights at 132.00
	created, err := w.store.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: canonical.Reservation{
		PropertyID: "LIS", Channel: "hrs", ExternalID: "HRS-88213",
		PrimaryGuest:     canonical.Guest{GivenName: "Zoë", Surname: "Núñez", Email: "zoe@example.es"},
		AdditionalGuests: []canonical.Guest{{GivenName: "Søren", Surname: "Kierkegård"}},
		RoomStays: []canonical.RoomStay{
			{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: date("2027-04-10"), Departure: date("2027-04-12"), Adults: 2, Total: &roomTotal, Guests: []int{1}},
			{RoomType: "SGL", RatePlan: "FLEX-SGL", Arrival: date("2027-04-11"), Departure: date("2027-04-13"), Adults: 1, Guests: []int{0}},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := created.Reservation
	relay := func(what string) {
		t.Helper()
		if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
			t.Fatalf("%s: dead-lettered: %v", what, dead[0].err)
		}
	}
	active := func() map[string]*apaleo.Reservation {
		out := map[string]*apaleo.Reservation{}
		for _, a := range w.simReservations("HRS-88213") {
			if a.Status != apaleo.StatusCanceled {
				out[a.RatePlan.ID+" "+a.Arrival[:10]] = a
			}
		}
		return out
	}
	relay("booking")
	got := active()
	dbl, sgl := got["LIS-FLEX-DBL 2027-04-10"], got["LIS-FLEX-SGL 2027-04-11"]
	if len(got) != 2 || dbl == nil || sgl == nil || dbl.BookingID != sgl.BookingID {
		t.Fatalf("Apaleo has %v, want the two rooms in one booking", got)
	}
	if dbl.PrimaryGuest.LastName != "Kierkegård" || sgl.PrimaryGuest.LastName != "Núñez" {
		t.Errorf("primary guests %s and %s, want each room's own (Kierkegård, Núñez)", dbl.PrimaryGuest.LastName, sgl.PrimaryGuest.LastName)
	}
	if dbl.TotalGrossAmount.Amount != "300.00" || sgl.TotalGrossAmount.Amount != "196.00" {
		t.Errorf("room totals %s and %s, want the channel's 300.00 and the nights' 196.00", dbl.TotalGrossAmount.Amount, sgl.TotalGrossAmount.Amount)
	}

	// The channel says the booker stays in the double after all: an
	// amendment carries no guests, so Apaleo's are replaced.
	r, err = w.store.Update(ctx, reservations.AllProperties, r.ID, reservations.UpdateOptions{}, func(x *canonical.Reservation) error {
		x.RoomStays[0].Guests = []int{0, 1}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	relay("the double's guests changed")
	if a := w.sim.Reservation(dbl.ID); a.PrimaryGuest.LastName != "Núñez" || len(a.AdditionalGuests) != 1 || a.AdditionalGuests[0].LastName != "Kierkegård" {
		t.Errorf("after the change of guests the double has %+v and %+v", a.PrimaryGuest, a.AdditionalGuests)
	}

	// A third room is added to the Apaleo booking.
	r, err = w.store.Update(ctx, reservations.AllProperties, r.ID, reservations.UpdateOptions{}, func(x *canonical.Reservation) error {
		x.RoomStays = append(x.RoomStays, canonical.RoomStay{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: date("2027-04-20"), Departure: date("2027-04-22"), Adults: 1, Guests: []int{0}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	relay("a room added")
	got = active()
	added := got["LIS-FLEX-DBL 2027-04-20"]
	if len(got) != 3 || added == nil || added.BookingID != dbl.BookingID || got["LIS-FLEX-DBL 2027-04-10"].ID != dbl.ID {
		t.Fatalf("after adding a room Apaleo has %v, want the third room in booking %s beside the first two", got, dbl.BookingID)
	}

	// The first room is removed: its Apaleo reservation alone is cancelled.
	r, err = w.store.Update(ctx, reservations.AllProperties, r.ID, reservations.UpdateOptions{}, func(x *canonical.Reservation) error {
		x.RoomStays = x.RoomStays[1:]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	relay("a room removed")
	got = active()
	if len(got) != 2 || got["LIS-FLEX-SGL 2027-04-11"].ID != sgl.ID || got["LIS-FLEX-DBL 2027-04-20"].ID != added.ID {
		t.Fatalf("after removing a room Apaleo has %v, want the single and the added double", got)
	}
	if a := w.sim.Reservation(dbl.ID); a.Status != apaleo.StatusCanceled {
		t.Errorf("the removed room's reservation is %s, want Canceled", a.Status)
	}
	link, err := w.res.Links.Get(ctx, apaleo.Name, r.ID)
	if err != nil || !slices.Equal(link.PartnerIDs, []string{sgl.ID, added.ID}) || link.SyncedVersion != r.Version {
		t.Fatalf("link %+v, %v; want the single's and the added room's ids, at version %d", link, err, r.Version)
	}

	// Cancelling the booking cancels every room left.
	if _, err := w.store.Cancel(ctx, reservations.AllProperties, r.ID, reservations.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	relay("cancellation")
	if got := active(); len(got) != 0 {
		t.Errorf("after the cancellation Apaleo still has %v", got)
	}
	if n := w.sim.BookingsWithKey(apaleo.IdempotencyKey(r.ID)); n != 1 {
		t.Errorf("%d bookings in Apaleo, want 1", n)
	}
}

// An instance whose configuration lists its Apaleo properties writes only
// their reservations: a hotel group with two Apaleo accounts runs two
// instances, and neither dead-letters the other's bookings as unmapped.
func TestInstanceWritesOnlyItsOwnProperties(t *testing.T) {
	w := newWorldAt(t, apaleosim.Faults{}, nil, func(c *apaleo.Config) { c.Properties = []string{"OPO"} })
	ctx := context.Background()
	w.book(ctx, "BDC-OTHER-ACCOUNT")
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	if got := w.simReservations("BDC-OTHER-ACCOUNT"); len(got) != 0 {
		t.Fatalf("a LIS booking reached the account that lists only OPO: %+v", got)
	}
}
