package connectors

import (
	"context"
	"testing"
	"time"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

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
