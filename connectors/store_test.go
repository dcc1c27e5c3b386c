package connectors

import (
	"context"
	"testing"
	"time"

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

// When a connector's mappings expire, one caller reads them again; the
// others go on with the set read before instead of all reading the same
// rows at once. The table is locked meanwhile, so a caller that reads
// waits until the end.
func TestExpiredMappingsAreReadAgainByOneCaller(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	m := NewMappings(pool)
	const connector = "pms"
	if err := m.Replace(ctx, connector, []Mapping{{Kind: KindProperty, Partner: "LIS", Roomwire: "LIS"}}); err != nil {
		t.Fatal(err)
	}
	before, err := m.Set(ctx, connector)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	c := m.cache[connector]
	c.expires = time.Time{}
	m.cache[connector] = c
	m.mu.Unlock()

	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx) //nolint:errcheck // rolled back below; this is for a failure
	if _, err := lock.Exec(ctx, `LOCK TABLE connector_mappings IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	type got struct {
		set *MappingSet
		err error
	}
	const callers = 20
	results := make(chan got, callers)
	for range callers {
		go func() {
			s, err := m.Set(ctx, connector)
			results <- got{s, err}
		}()
	}
	timeout := time.After(time.Minute)
	for i := range callers - 1 {
		select {
		case r := <-results:
			if r.err != nil || r.set != before {
				t.Fatalf("caller %d: got a set read again (%v) rather than the previous one while another caller reads", i, r.err)
			}
		case <-timeout:
			t.Fatalf("only %d of %d callers went on with the previous set while the mappings were read again", i, callers-1)
		}
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-results
	if r.err != nil || r.set == nil || r.set == before {
		t.Fatalf("the caller that read the mappings again got %p (%v), want a new set", r.set, r.err)
	}
	if now, err := m.Set(ctx, connector); err != nil || now != r.set {
		t.Fatalf("after the read, Set gives %p (%v), want the set read %p", now, err, r.set)
	}
}
