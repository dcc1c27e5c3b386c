package chaos

import (
	"context"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
)

// chaosFaults counts what was injected.
type chaosFaults struct {
	mu      sync.Mutex
	byKind  map[string]int
	details map[string]int
	at      map[string][]time.Time // when each fault of a kind was injected
}

func (f *chaosFaults) add(kind string, detail string, n int) { f.addAt(kind, detail, n, time.Now()) }

// addAt records a fault injected at at.
func (f *chaosFaults) addAt(kind string, detail string, n int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byKind == nil {
		f.byKind, f.details, f.at = map[string]int{}, map[string]int{}, map[string][]time.Time{}
	}
	f.byKind[kind]++
	f.at[kind] = append(f.at[kind], at)
	if detail != "" {
		f.details[detail] += n
	}
}

// between reports whether a fault of one of kinds was injected in (from, to].
func (f *chaosFaults) between(from, to time.Time, kinds ...string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range kinds {
		for _, t := range f.at[k] {
			if t.After(from) && !t.After(to) {
				return true
			}
		}
	}
	return false
}

func (f *chaosFaults) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.byKind {
		n += v
	}
	return n
}

// faultSchedule is every kind once per 1000 operations (at least once), in
// an order drawn from the seed.
func (c *chaosRun) faultSchedule() []string {
	rounds := max(1, c.o.ops/1000)
	rng := mrand.New(mrand.NewPCG(c.o.seed, 0xfa17))
	var s []string
	for range rounds {
		round := slices.Clone(c.faultKinds())
		rng.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		s = append(s, round...)
	}
	return s
}

// runFaults injects the schedule's faults as the load reaches their
// operations; each lets the load go on to the next one's.
func (c *chaosRun) runFaults(ctx context.Context, schedule []string, loadDone <-chan struct{}) {
	for k, kind := range schedule {
		at := c.threshold(k, len(schedule))
		for c.gate.started() < at {
			select {
			case <-ctx.Done():
				return
			case <-loadDone:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		c.inject(ctx, kind, func() { c.gate.allow(c.threshold(k+1, len(schedule))) })
	}
	c.gate.allow(c.o.ops)
}

// inject applies one fault. release lets the load go on; windowed faults
// call it at once, so the load runs through the window.
func (c *chaosRun) inject(ctx context.Context, kind string, release func()) {
	if c.kafka != nil && c.injectRealKafka(ctx, kind, release) {
		return
	}
	start := time.Now()
	switch kind {
	case faultServeKill:
		release()
		c.killServe()
		if err := c.startServe(context.WithoutCancel(ctx)); err != nil {
			c.say("fault %s: restart failed: %v", kind, err)
		}
		c.faults.addAt(kind, "", 0, start)
		c.say("fault %s: serve killed and started again in %s", kind, time.Since(start).Round(time.Millisecond))
	case faultProduceErrors, faultFetchErrors:
		key, codes := kmsg.Produce, []*kerr.Error{kerr.NotLeaderForPartition, kerr.RequestTimedOut}
		if kind == faultFetchErrors {
			key, codes = kmsg.Fetch, []*kerr.Error{kerr.NotLeaderForPartition, kerr.UnknownServerError}
		}
		var fs []kfake.Fault
		for _, code := range codes {
			fs = append(fs, kfake.Fault{Keys: []kmsg.Key{key}, Err: code, Count: -1, When: everyOther()})
		}
		h := c.cluster().Fault(fs...)
		release()
		chaosSleep(ctx, chaosFaultWindow)
		// Consumers rejoining after a restart of serve fetch nothing for
		// a while; hold the fault until it has bitten.
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		h.Wait(wctx, 20) //nolint:errcheck // at the timeout, it bit less
		cancel()
		h.Remove()
		c.faults.add(kind, kind+"_answered", h.Hits())
		c.say("fault %s: %d requests answered with errors in %s", kind, h.Hits(), time.Since(start).Round(time.Millisecond))
	case faultLeaderMove:
		release()
		moved := c.moveLeaders()
		c.faults.add(kind, "partitions_moved", moved)
		c.say("fault %s: %d partition leaders moved", kind, moved)
	case faultBrokerRestart:
		release()
		c.brokerMu.Lock()
		c.broker.Close()
		c.brokerMu.Unlock()
		chaosSleep(ctx, 500*time.Millisecond)
		if err := c.startBroker(); err != nil {
			c.say("fault %s: broker did not come back: %v", kind, err)
			return
		}
		c.faults.add(kind, "", 0)
		c.say("fault %s: broker stopped and started on its data in %s", kind, time.Since(start).Round(time.Millisecond))
	case faultPGCut:
		release()
		n := c.cutDatabase(ctx)
		c.faults.add(kind, "pg_connections_terminated", n)
		c.say("fault %s: %d of serve's PostgreSQL connections terminated", kind, n)
	case faultPartner5xx, faultPartner429, faultPartnerHang, faultDuplicates:
		c.partnerFault(kind)
		notified := c.notifyFailures()
		release()
		chaosSleep(ctx, chaosFaultWindow)
		c.holdNotifyFault(ctx, kind, notified)
		c.healPartners()
		c.faults.add(kind, "", 0)
		c.say("fault %s: partners misbehaved for %s", kind, chaosFaultWindow)
	}
}

// chaosSleep waits d or until ctx ends.
func chaosSleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// everyOther faults every second matching request, so that clients see
// errors and successes mixed, as with a flapping broker.
func everyOther() func(kmsg.Request) bool {
	var n atomic.Int64
	return func(kmsg.Request) bool { return n.Add(1)%2 == 0 }
}

// moveLeaders moves every partition of the backbone's topics to the other node.
func (c *chaosRun) moveLeaders() int {
	cl := c.cluster()
	c.brokerMu.Lock()
	other := c.otherNode
	c.brokerMu.Unlock()
	topics := []string{canonical.TopicReservationEvents, canonical.TopicAvailabilityEvents, canonical.TopicPaymentEvents,
		inbound.Topic("apaleo"), inbound.Topic("ota")}
	moved := 0
	for _, t := range topics {
		for p := int32(0); p < chaosPartitions; p++ {
			to := other
			if cl.LeaderFor(t, p) == other {
				to = 0
			}
			if cl.MoveTopicPartition(t, p, to) == nil {
				moved++
			}
		}
	}
	return moved
}

// cutDatabase terminates serve's PostgreSQL connections.
func (c *chaosRun) cutDatabase(ctx context.Context) int {
	var n int
	err := c.pool.QueryRow(context.WithoutCancel(ctx), `SELECT count(*) FROM (
		SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2) t`,
		c.dbName, chaosServeApp).Scan(&n)
	if err != nil {
		c.say("fault %s: %v", faultPGCut, err)
	}
	return n
}

func (c *chaosRun) partnerFault(kind string) {
	var af apaleosim.Faults
	var gf gatewaysim.Faults
	var chf channelsim.Faults
	switch kind {
	case faultPartner5xx:
		af.ErrorRate, gf.ErrorRate, chf.ErrorRate = 0.5, 0.5, 0.5
	case faultPartner429:
		af.RateLimitRate, af.RetryAfter = 0.5, 1
		chf.RateLimitRate, chf.RetryAfter = 0.5, 1
	case faultPartnerHang:
		af.TimeoutRate, af.HangFor = 0.3, 3*time.Second
		gf.TimeoutRate, gf.HangFor = 0.3, 3*time.Second
		chf.TimeoutRate, chf.HangFor = 0.3, 3*time.Second
	case faultDuplicates:
		af.DuplicateWebhooks, gf.DuplicateWebhooks, chf.Duplicates = 2, 2, 1
	}
	c.apaleo.SetFaults(af)
	c.stripe.SetFaults(gf)
	c.ota.SetFaults(chf)
	c.notifyFault(kind)
}

func (c *chaosRun) healPartners() {
	c.apaleo.SetFaults(apaleosim.Faults{})
	c.stripe.SetFaults(gatewaysim.Faults{})
	c.ota.SetFaults(channelsim.Faults{})
	c.notifyFault("")
}
