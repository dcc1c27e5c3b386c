package ota_test

import (
	"context"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/ota"
)

func channelsimFaults(dups int) channelsim.Faults { return channelsim.Faults{Duplicates: dups} }

func TestPushARI(t *testing.T) {
	for _, via := range []string{"avail", "invcount"} {
		t.Run(via, func(t *testing.T) {
			w := newWorld(t, ota.Config{ARIAvailability: via, ARIMaxItems: 2})
			ctx := context.Background()
			u := canonical.ARIUpdate{PropertyID: "HTL-LIS-01",
				Availability: []canonical.AvailabilityUpdate{
					{RoomType: "DBL-SEA", From: date("2027-04-10"), To: date("2027-04-11"), Available: 2},
					{RoomType: "DBL-SEA", From: date("2027-04-12"), To: date("2027-04-12"), Available: 0},
					{RoomType: "FAM", From: date("2027-04-10"), To: date("2027-04-12"), Available: 1},
				},
				Restrictions: []canonical.RestrictionsUpdate{canonical.Restrictions{ClosedToDeparture: true, MinStay: 3}.Update("DBL-SEA", "FLEX", date("2027-04-10"), date("2027-04-10"))},
				Rates:        []canonical.RateUpdate{{RoomType: "DBL-SEA", RatePlan: "FLEX", From: date("2027-04-10"), To: date("2027-04-12"), Rate: canonical.Rate{Price: eur(14250)}}},
			}
			if err := w.conn.PushARI(ctx, u); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				room  string
				night string
				want  int
			}{{"DBL-SEA", "2027-04-11", 2}, {"DBL-SEA", "2027-04-12", 0}, {"FAM", "2027-04-12", 1}} {
				if n, ok := w.sim.ARI.Availability("HTL-LIS-01", c.room, date(c.night)); !ok || n != c.want {
					t.Errorf("%s %s: %d (%v), want %d", c.room, c.night, n, ok, c.want)
				}
			}
			if r, _ := w.sim.ARI.Restriction("HTL-LIS-01", "DBL-SEA", "FLEX", date("2027-04-10")); !r.ClosedToDeparture || r.MinStay != 3 {
				t.Errorf("restriction %+v", r)
			}
			if p, _ := w.sim.ARI.Rate("HTL-LIS-01", "DBL-SEA", "FLEX", date("2027-04-12")); p != eur(14250) {
				t.Errorf("rate %s", p)
			}
			// 5 entries at most 2 a message: availability and restrictions
			// split over 3 parts, rates in the last.
			if n := w.sim.ARI.Messages(); n < 3 {
				t.Errorf("%d messages; the limit of 2 entries was not applied", n)
			}
		})
	}
}

func TestPushARIFailures(t *testing.T) {
	w := newWorld(t, ota.Config{})
	u := canonical.ARIUpdate{PropertyID: "HTL-LIS-01", Availability: []canonical.AvailabilityUpdate{{RoomType: "DBL-SEA", From: date("2027-04-10"), To: date("2027-04-10"), Available: 1}}}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault channelsim.Faults
		want  connectors.Class
	}{
		{"503", channelsim.Faults{Status: 503}, connectors.ClassRetryable},
		{"429", channelsim.Faults{Status: 429, RetryAfter: 3600}, connectors.ClassRetryable},
		{"timeout", channelsim.Faults{TimeoutRate: 1, HangFor: 2 * time.Second}, connectors.ClassRetryable},
		{"400", channelsim.Faults{Status: 400}, connectors.ClassPermanent},
	} {
		w.sim.SetFaults(tc.fault)
		if got := connectors.ClassOf(w.conn.PushARI(ctx, u)); got != tc.want {
			t.Errorf("%s: class %s, want %s", tc.name, got, tc.want)
		}
	}
	w.sim.SetFaults(channelsim.Faults{})
	// The channel refuses what it does not know, in OTA Errors: permanent.
	bad := u
	bad.Availability = []canonical.AvailabilityUpdate{{RoomType: "", From: date("2027-04-10"), To: date("2027-04-10"), Available: 1}}
	if err := w.conn.PushARI(ctx, bad); connectors.ClassOf(err) != connectors.ClassPermanent {
		t.Errorf("refused by the channel: %v", err)
	}
	if err := w.conn.PushARI(ctx, u); err != nil {
		t.Fatal(err)
	}
}
