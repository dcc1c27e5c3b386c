package reservations

import (
	"context"
	"sync"
	"time"
)

// catalogTTL bounds how long a process books against a property's room types
// and rate plans as it last read them. A change made through another process
// is seen within it; one made through this process, at once.
const catalogTTL = 2 * time.Second

// catalogCache keeps recently read properties, because every booking, change
// and search needs the catalogue and it rarely changes. Prices and inventory
// are never cached.
type catalogCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]catalogEntry
}

type catalogEntry struct {
	prop    *Property
	expires time.Time
}

// get returns the property id, read through q when not cached. Callers must
// not change the returned value.
func (c *catalogCache) get(ctx context.Context, q querier, id string) (*Property, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.prop, nil
	}
	p, err := loadProperty(ctx, q, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) > 100000 {
		c.entries = map[string]catalogEntry{}
	}
	c.entries[id] = catalogEntry{prop: p, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return p, nil
}

// forget drops a property after this process changed it.
func (c *catalogCache) forget(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}
