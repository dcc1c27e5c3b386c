package connectors

import (
	"context"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// A link written in a delivery relies on the delivery's flush promise (it
// commits without waiting for the WAL flush, and the delivery's dedup
// record flushes it); one written elsewhere commits durably on its own.
// Either way the link is there to read.
func TestLinksRelyOnTheFlushPromiseOnlyWhereThereIsOne(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	links := NewLinks(pool)
	var reservation string
	if err := pool.QueryRow(ctx, `SELECT gen_random_uuid()::text`).Scan(&reservation); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		ctx     context.Context
		version int
		relied  bool
	}{
		{"outside a delivery", ctx, 1, false},
		{"in a delivery", canonical.WithFlushPromise(ctx), 2, true},
	} {
		err := links.Put(c.ctx, Link{Connector: "pms", ReservationID: reservation, PartnerGroupID: "B1", PartnerIDs: []string{"B1-1"}, SyncedVersion: c.version})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := canonical.FlushPromiseRelied(c.ctx); got != c.relied {
			t.Errorf("%s: relied on the flush promise %v, want %v", c.name, got, c.relied)
		}
		k, err := links.Get(ctx, "pms", reservation)
		if err != nil || k.SyncedVersion != c.version || k.PartnerGroupID != "B1" {
			t.Fatalf("%s: read back %+v, %v", c.name, k, err)
		}
	}
}
