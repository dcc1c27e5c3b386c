package notify

import (
	"context"
	"sync"
	"time"
)

// subscriptionCache keeps the answer to "who wants this event" for a
// moment, so that a burst of bookings costs one query per event type and
// property, not one per event. A change made through this process clears
// it at once; one made through another process shows within the TTL.
type subscriptionCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedIDs
}

type cachedIDs struct {
	ids []string
	at  time.Time
}

func (c *subscriptionCache) get(ctx context.Context, key string, load func() ([]string, error)) ([]string, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && time.Since(e.at) < c.ttl {
		return e.ids, nil
	}
	ids, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]cachedIDs{}
	}
	c.entries[key] = cachedIDs{ids: ids, at: time.Now()}
	c.mu.Unlock()
	return ids, nil
}

func (c *subscriptionCache) invalidate() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
