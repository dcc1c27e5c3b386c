package apaleo_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/reservations"
)

// TestStayTransitionsReachApaleoOnce: with Roomwire the master of the stay,
// check-in, check-out and no-show reach Apaleo as its reservation actions,
// each once under 5xx (half of them after the change) and redelivery;
// Apaleo's webhooks about them change nothing more; a check-in made at
// Apaleo's front desk reaches Roomwire and is not sent back.
func TestStayTransitionsReachApaleoOnce(t *testing.T) {
	lisbonTZ, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	arrivalDay := time.Date(2027, 4, 10, 15, 0, 0, 0, lisbonTZ)
	w := newWorldAt(t, apaleosim.Faults{ErrorRate: 0.3, DuplicateWebhooks: 2}, func() time.Time { return arrivalDay })
	ctx := context.Background()
	noShow, stay, desk := w.book(ctx, "4105880001"), w.book(ctx, "4105880002"), w.book(ctx, "4105880003")
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	apaleoID := func(r *canonical.Reservation) string {
		link, err := w.res.Links.Get(ctx, apaleo.Name, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return link.PartnerIDs[0]
	}
	setStatus := func(id string, s canonical.Status) {
		t.Helper()
		if _, err := w.store.Update(ctx, reservations.AllProperties, id, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
			r.Status = s
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	setStatus(noShow.ID, canonical.StatusNoShow)
	setStatus(stay.ID, canonical.StatusCheckedIn)
	setStatus(stay.ID, canonical.StatusCheckedOut)
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	for _, tc := range []struct {
		r      *canonical.Reservation
		want   []string
		status string
	}{
		{noShow, []string{"noshow"}, apaleo.StatusNoShow},
		{stay, []string{"checkin", "checkout"}, apaleo.StatusCheckedOut},
	} {
		id := apaleoID(tc.r)
		if got := w.sim.Actions(id); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Apaleo %s received %v, want %v", id, got, tc.want)
		}
		if got := w.sim.Reservation(id).Status; got != tc.status {
			t.Errorf("Apaleo %s is %s, want %s", id, got, tc.status)
		}
	}
	// Apaleo's webhooks about them (each sent three times) are Roomwire's echo.
	w.sim.WaitWebhooks()
	for _, r := range []*canonical.Reservation{noShow, stay} {
		got, err := w.store.Get(ctx, reservations.AllProperties, r.ID)
		if err != nil || (got.Status != canonical.StatusNoShow && got.Status != canonical.StatusCheckedOut) {
			t.Fatalf("after Apaleo's webhooks: %+v %v", got, err)
		}
	}
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}

	// The front desk checks a guest in at Apaleo: Roomwire follows, and
	// sends nothing back.
	deskID := apaleoID(desk)
	if err := w.sim.SetStatus(deskID, apaleo.StatusInHouse); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the front desk's check-in reaches Roomwire", func() bool {
		got, err := w.store.Get(ctx, reservations.AllProperties, desk.ID)
		return err == nil && got.Status == canonical.StatusCheckedIn
	})
	w.sim.WaitWebhooks()
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	if got := w.sim.Actions(deskID); len(got) != 0 {
		t.Errorf("Roomwire sent the front desk's check-in back: %v", got)
	}
	got, _ := w.store.Get(ctx, reservations.AllProperties, desk.ID)
	if got.Version != 2 {
		t.Errorf("version %d after the front desk's check-in and its duplicate webhooks, want 2", got.Version)
	}
}

// TestStayMasterApaleo: with Apaleo the master of the stay, Roomwire's
// check-in and no-show are not sent; the reservation is still synced.
func TestStayMasterApaleo(t *testing.T) {
	arrivalDay := time.Date(2027, 4, 10, 15, 0, 0, 0, time.UTC)
	w := newWorldAt(t, apaleosim.Faults{}, func() time.Time { return arrivalDay }, func(c *apaleo.Config) { c.StayMaster = apaleo.StayMasterApaleo })
	ctx := context.Background()
	in, out := w.book(ctx, "4105881001"), w.book(ctx, "4105881002")
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	for id, s := range map[string]canonical.Status{in.ID: canonical.StatusCheckedIn, out.ID: canonical.StatusNoShow} {
		if _, err := w.store.Update(ctx, reservations.AllProperties, id, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
			r.Status = s
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if dead := w.relay(w.conn.HandleEvent); len(dead) > 0 {
		t.Fatalf("dead-lettered: %v", dead[0].err)
	}
	for _, r := range []*canonical.Reservation{in, out} {
		link, err := w.res.Links.Get(ctx, apaleo.Name, r.ID)
		if err != nil || link.SyncedVersion != 2 {
			t.Fatalf("link %+v %v", link, err)
		}
		if got := w.sim.Actions(link.PartnerIDs[0]); len(got) != 0 {
			t.Errorf("sent %v with Apaleo the master of the stay", got)
		}
		if got := w.sim.Reservation(link.PartnerIDs[0]).Status; got != apaleo.StatusConfirmed {
			t.Errorf("Apaleo has %s", got)
		}
	}
}
