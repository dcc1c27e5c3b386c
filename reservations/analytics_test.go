package reservations_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

// The figures of a week in April 2027 at LIS (2 DBL and 2 SGL rooms, DBL at
// 120.00 and SGL at 90.00 a night), worked out by hand from the bookings.
func TestAnalyticsMatchTheBookings(t *testing.T) {
	s := newStore(t, 2)
	ctx := context.Background()
	book := func(channel, ext string, stays ...canonical.RoomStay) *canonical.Reservation {
		t.Helper()
		b := booking(ext, stays...)
		b.Channel = channel
		res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: b})
		if err != nil {
			t.Fatal(err)
		}
		return res.Reservation
	}
	// 3 DBL nights in the week (one before it is outside): 360.00.
	book("direct", "A", stay("DBL", "FLEX", "2027-04-04", "2027-04-08"))
	// 2 SGL nights: 180.00.
	book("bookingcom", "B", stay("SGL", "SGL-FLEX", "2027-04-06", "2027-04-08"))
	// 2 DBL nights, then cancelled: counts as a cancellation, not as sold.
	c := book("bookingcom", "C", stay("DBL", "FLEX", "2027-04-09", "2027-04-11"))
	if _, err := s.Cancel(ctx, reservations.AllProperties, c.ID, reservations.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Outside the week.
	book("direct", "D", stay("DBL", "FLEX", "2027-05-01", "2027-05-03"))

	q := reservations.AnalyticsQuery{PropertyID: "LIS", From: date("2027-04-05"), To: date("2027-04-11")}
	a, err := s.Analytics(ctx, reservations.AllProperties, q)
	if err != nil {
		t.Fatal(err)
	}
	want := reservations.AnalyticsFigures{
		RoomsAvailable: 4 * 7, RoomsSold: 5, Occupancy: 5.0 / 28,
		Revenue: eur(54000), ADR: eur(10800), RevPAR: eur(54000 / 28),
		Cancellations: 1, CancelledRoomNights: 2,
	}
	if a.Totals != want {
		t.Errorf("totals\n got %+v\nwant %+v", a.Totals, want)
	}
	if len(a.ChannelMix) != 2 || a.ChannelMix[0].Channel != "direct" || a.ChannelMix[0].RoomsSold != 3 ||
		a.ChannelMix[1].Channel != "bookingcom" || a.ChannelMix[1].Revenue != eur(18000) || a.ChannelMix[1].Share != 0.4 {
		t.Errorf("channel mix: %+v", a.ChannelMix)
	}
	// Every booking was made today, not in April 2027.
	if a.Pickup.Reservations != 0 {
		t.Errorf("pickup in April 2027: %+v", a.Pickup)
	}

	q.GroupBy = reservations.GroupDay
	a, err = s.Analytics(ctx, reservations.AllProperties, q)
	if err != nil {
		t.Fatal(err)
	}
	sold := map[string]int64{}
	for _, g := range a.Groups {
		if g.RoomsAvailable != 4 {
			t.Errorf("%s: %d rooms available, want 4", g.Key, g.RoomsAvailable)
		}
		sold[g.Key] = g.RoomsSold
	}
	wantSold := map[string]int64{"2027-04-05": 1, "2027-04-06": 2, "2027-04-07": 2, "2027-04-08": 0, "2027-04-09": 0, "2027-04-10": 0, "2027-04-11": 0}
	for k, n := range wantSold {
		if sold[k] != n {
			t.Errorf("%s: %d sold, want %d (all: %v)", k, sold[k], n, sold)
		}
	}

	q.GroupBy = reservations.GroupRoomType
	if a, err = s.Analytics(ctx, reservations.AllProperties, q); err != nil {
		t.Fatal(err)
	}
	if len(a.Groups) != 2 || a.Groups[0].Key != "DBL" || a.Groups[0].RoomsSold != 3 || a.Groups[0].RoomsAvailable != 14 ||
		a.Groups[0].Cancellations != 1 || a.Groups[1].Key != "SGL" || a.Groups[1].Revenue != eur(18000) {
		t.Errorf("by room type: %+v", a.Groups)
	}

	// Pickup counts what was booked on the days asked, in the property's zone.
	today := canonical.DateOf(timeIn(t, "Europe/Lisbon"))
	a, err = s.Analytics(ctx, reservations.AllProperties, reservations.AnalyticsQuery{PropertyID: "LIS", From: today.AddDays(-1), To: today.AddDays(1)})
	if err != nil {
		t.Fatal(err)
	}
	if p := a.Pickup; p.Reservations != 3 || p.RoomNights != 4+2+2 || p.Revenue != eur(48000+18000+24000) || p.Cancellations != 1 {
		t.Errorf("pickup today: %+v", p)
	}
}

func TestAnalyticsRefuseBadQueries(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	for _, q := range []reservations.AnalyticsQuery{
		{PropertyID: "LIS"},
		{PropertyID: "LIS", From: date("2027-04-05"), To: date("2027-04-01")},
		{PropertyID: "LIS", From: date("2027-01-01"), To: date("2030-01-01")},
		{PropertyID: "LIS", From: date("2027-04-05"), To: date("2027-04-06"), GroupBy: "week"},
	} {
		var ve canonical.ValidationError
		if _, err := s.Analytics(ctx, reservations.AllProperties, q); !errors.As(err, &ve) {
			t.Errorf("%+v: %v, want a validation error", q, err)
		}
	}
	_, err := s.Analytics(ctx, reservations.Scope{Properties: []string{"OPO"}}, reservations.AnalyticsQuery{PropertyID: "LIS", From: date("2027-04-05"), To: date("2027-04-06")})
	if !errors.Is(err, reservations.ErrNotFound) {
		t.Errorf("outside scope: %v, want not found", err)
	}
}

func timeIn(t *testing.T, zone string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return time.Now().In(loc)
}

func eur(minor int64) canonical.Money { return canonical.NewMoney(minor, "EUR") }
