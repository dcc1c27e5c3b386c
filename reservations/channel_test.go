package reservations_test

import (
	"context"
	"errors"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

func channelBooking(action canonical.ChannelAction, revision string, stays ...canonical.RoomStay) canonical.ChannelBooking {
	r := booking("BDC-4105882311", stays...)
	r.Channel = "bookingcom"
	for i := range r.RoomStays {
		for _, n := range r.RoomStays[i].Nights() {
			r.RoomStays[i].NightlyPrices = append(r.RoomStays[i].NightlyPrices, canonical.NightlyPrice{Date: n, Price: canonical.NewMoney(13200, "EUR")})
		}
	}
	return canonical.ChannelBooking{Connector: "bookingcom", Action: action, Revision: revision, Reservation: r}
}

func TestApplyChannelBooking(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	steps := []struct {
		name        string
		booking     canonical.ChannelBooking
		want        reservations.Outcome
		wantVersion int
		wantSold    map[string]int
	}{
		{"a modification of a booking never seen creates it", channelBooking(canonical.ChannelModify, "r1"),
			reservations.OutcomeCreated, 1, map[string]int{"2027-04-10": 1, "2027-04-11": 1}},
		{"the same revision again changes nothing", channelBooking(canonical.ChannelModify, "r1"),
			reservations.OutcomeUnchanged, 1, map[string]int{"2027-04-10": 1}},
		{"a new delivery of the same booking changes nothing", channelBooking(canonical.ChannelNew, ""),
			reservations.OutcomeUnchanged, 1, map[string]int{"2027-04-10": 1}},
		{"a modification moves the stay", channelBooking(canonical.ChannelModify, "r2", stay("DBL", "FLEX", "2027-04-11", "2027-04-13")),
			reservations.OutcomeModified, 2, map[string]int{"2027-04-10": 0, "2027-04-11": 1, "2027-04-12": 1}},
		{"a cancellation gives the rooms back", channelBooking(canonical.ChannelCancel, "r3"),
			reservations.OutcomeCancelled, 3, map[string]int{"2027-04-11": 0, "2027-04-12": 0}},
		{"the cancellation again changes nothing", channelBooking(canonical.ChannelCancel, "r4"),
			reservations.OutcomeUnchanged, 3, map[string]int{"2027-04-11": 0}},
	}
	for _, st := range steps {
		res, outcome, err := s.ApplyChannelBooking(ctx, st.booking)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if outcome != st.want || res.Version != st.wantVersion {
			t.Fatalf("%s: outcome %s version %d, want %s and %d", st.name, outcome, res.Version, st.want, st.wantVersion)
		}
		for night, want := range st.wantSold {
			if got := unitsSold(t, s, "DBL", night); got != want {
				t.Fatalf("%s: sold on %s = %d, want %d", st.name, night, got, want)
			}
		}
	}

	unknown := channelBooking(canonical.ChannelCancel, "x")
	unknown.Reservation.ExternalID = "never-seen"
	if _, _, err := s.ApplyChannelBooking(ctx, unknown); !errors.Is(err, reservations.ErrNotFound) {
		t.Fatalf("cancel of an unknown booking: %v", err)
	}
	bad := channelBooking("book", "x")
	bad.Reservation.ExternalID = ""
	var v canonical.ValidationError
	if _, _, err := s.ApplyChannelBooking(ctx, bad); !errors.As(err, &v) || len(v) != 2 {
		t.Fatalf("bad booking: %v", err)
	}
}

func TestChannelBookingsOverbookRatherThanRefuse(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	first := channelBooking(canonical.ChannelNew, "1")
	second := channelBooking(canonical.ChannelNew, "1")
	second.Reservation.ExternalID = "BDC-2"
	if _, _, err := s.ApplyChannelBooking(ctx, first); err != nil {
		t.Fatal(err)
	}
	res, outcome, err := s.ApplyChannelBooking(ctx, second)
	if err != nil || outcome != reservations.OutcomeCreated || !res.HasFlag(canonical.FlagOverbooked) {
		t.Fatalf("second booking of the only room: %v %s %v", res, outcome, err)
	}
	if res.Total != canonical.NewMoney(26400, "EUR") {
		t.Fatalf("channel prices not kept: total %v", res.Total)
	}
}

func TestChannelBookingKeepsTheConfirmationNumberTheChannelWasGiven(t *testing.T) {
	s := newStore(t, 2)
	ctx := context.Background()
	b := channelBooking(canonical.ChannelNew, "1")
	b.Reservation.ConfirmationNumber = "RW-7KQ2-9XD4"
	res, _, err := s.ApplyChannelBooking(ctx, b)
	if err != nil || res.ConfirmationNumber != "RW-7KQ2-9XD4" {
		t.Fatalf("stored %v, %v", res, err)
	}
	if got, err := s.Get(ctx, reservations.AllProperties, "RW-7KQ2-9XD4"); err != nil || got.ID != res.ID {
		t.Fatalf("get by the channel's number: %v %v", got, err)
	}
	other := channelBooking(canonical.ChannelNew, "1")
	other.Reservation.ExternalID = "BDC-OTHER"
	other.Reservation.ConfirmationNumber = "RW-7KQ2-9XD4"
	if _, _, err := s.ApplyChannelBooking(ctx, other); !errors.Is(err, reservations.ErrIdempotencyConflict) {
		t.Fatalf("another booking with the same number: %v", err)
	}
}

// A channel may send a second change under a revision it used before (the
// same modification time, or none at all); it must be applied, not taken for
// a repeat. Only the same content under the same revision is a repeat.
func TestChannelBookingSameRevisionOtherContentIsApplied(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	if _, _, err := s.ApplyChannelBooking(ctx, channelBooking(canonical.ChannelNew, "Commit@2027-01-01T10:00:00Z")); err != nil {
		t.Fatal(err)
	}
	moved := channelBooking(canonical.ChannelModify, "Modify@2027-01-02T10:00:00Z", stay("DBL", "FLEX", "2027-04-11", "2027-04-13"))
	again := channelBooking(canonical.ChannelModify, "Modify@2027-01-02T10:00:00Z", stay("DBL", "FLEX", "2027-04-12", "2027-04-15"))
	steps := []struct {
		name    string
		b       canonical.ChannelBooking
		want    reservations.Outcome
		arrival string
	}{
		{"first modification", moved, reservations.OutcomeModified, "2027-04-11"},
		{"its repeat", moved, reservations.OutcomeUnchanged, "2027-04-11"},
		{"another body under the same revision", again, reservations.OutcomeModified, "2027-04-12"},
	}
	for _, st := range steps {
		res, outcome, err := s.ApplyChannelBooking(ctx, st.b)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if outcome != st.want || res.Arrival().String() != st.arrival {
			t.Fatalf("%s: outcome %s arrival %s, want %s and %s", st.name, outcome, res.Arrival(), st.want, st.arrival)
		}
	}
}

// A channel numbers its bookings per property: the same id at two
// properties is two bookings, and neither touches nor reveals the other.
func TestChannelIDsArePerProperty(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	if _, err := s.PutProperty(ctx, reservations.Property{ID: "OPO", Name: "Porto", Timezone: "Europe/Lisbon", Currency: "EUR",
		RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 1}},
		RatePlans: []reservations.RatePlan{{Code: "FLEX", RoomType: "DBL", Name: "Flexible"}}}); err != nil {
		t.Fatal(err)
	}
	lis, _, err := s.ApplyChannelBooking(ctx, channelBooking(canonical.ChannelNew, "1"))
	if err != nil {
		t.Fatal(err)
	}
	other := channelBooking(canonical.ChannelNew, "1")
	other.Reservation.PropertyID = "OPO"
	other.Reservation.PrimaryGuest.Surname = "Pereira"
	opo, outcome, err := s.ApplyChannelBooking(ctx, other)
	if err != nil || outcome != reservations.OutcomeCreated || opo.ID == lis.ID {
		t.Fatalf("the same channel id at another property: %v %s %v", opo, outcome, err)
	}
	cancel := channelBooking(canonical.ChannelCancel, "2")
	cancel.Reservation.PropertyID = "OPO"
	if _, _, err := s.ApplyChannelBooking(ctx, cancel); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindByExternalID(ctx, "LIS", "bookingcom", lis.ExternalID); err != nil || got.Status != canonical.StatusConfirmed || got.PrimaryGuest.Surname != "Silva" {
		t.Fatalf("Lisbon's booking changed with Porto's: %+v %v", got, err)
	}
}
