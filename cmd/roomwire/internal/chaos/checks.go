package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/arifanout"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/router"
)

// --- quiescence ---

// chaosQuiet is the hub's state when the load is over.
type chaosQuiet struct {
	Reached     bool   `json:"reached"`
	Unpublished int64  `json:"outbox_unpublished"`
	Parked      int64  `json:"parked"`
	Replaying   int64  `json:"dead_letters_replaying"`
	Lag         int64  `json:"consumer_lag"` // -1: the broker did not tell
	Processed   int64  `json:"processed_messages"`
	DeadLetters int64  `json:"dead_letters"`
	LagError    string `json:"lag_error,omitempty"`
}

func (q chaosQuiet) settled() bool {
	return q.Unpublished == 0 && q.Parked == 0 && q.Replaying == 0 && q.Lag <= 0
}

// waitQuiet waits until the outbox is published, nothing is parked and every
// consumer group has caught up, with the processed and dead-lettered counts
// unchanged over several polls.
func (c *chaosRun) waitQuiet(ctx context.Context) chaosQuiet {
	// Webhooks the simulators are still delivering are part of the load.
	waited := make(chan struct{})
	go func() { c.apaleo.WaitWebhooks(); c.stripe.WaitWebhooks(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
	}
	kc, err := kgo.NewClient(kgo.SeedBrokers(c.brokerSeeds()...), kgo.RequestRetries(2))
	var adm *kadm.Client
	if err == nil {
		defer kc.Close()
		adm = kadm.NewClient(kc)
	}
	var prev chaosQuiet
	stable := 0
	lastSaid := time.Now()
	for {
		q := c.snapshot(ctx, adm)
		needed := 3
		if q.Lag < 0 {
			needed = 6 // without the lag, only steady counts tell
		}
		if q.settled() && q.Processed == prev.Processed && q.DeadLetters == prev.DeadLetters {
			stable++
		} else {
			stable = 0
		}
		if stable >= needed {
			q.Reached = true
			c.say("quiet: outbox published, nothing parked, consumer lag %d, %d messages processed, %d dead letters", q.Lag, q.Processed, q.DeadLetters)
			return q
		}
		if time.Since(lastSaid) >= 5*time.Second {
			c.say("waiting for quiet: outbox backlog %d, parked %d, consumer lag %d, replaying %d", q.Unpublished, q.Parked, q.Lag, q.Replaying)
			lastSaid = time.Now()
		}
		prev = q
		select {
		case <-ctx.Done():
			c.say("not quiet by the deadline: outbox backlog %d, parked %d, consumer lag %d", q.Unpublished, q.Parked, q.Lag)
			return q
		case <-time.After(time.Second):
		}
	}
}

func (c *chaosRun) snapshot(ctx context.Context, adm *kadm.Client) chaosQuiet {
	q := chaosQuiet{Lag: -1}
	err := c.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM outbox WHERE published_at IS NULL),
		(SELECT count(*) FROM parked_messages),
		(SELECT count(*) FROM dead_letters WHERE status = 'replaying'),
		(SELECT count(*) FROM processed_messages),
		(SELECT count(*) FROM dead_letters)`).Scan(&q.Unpublished, &q.Parked, &q.Replaying, &q.Processed, &q.DeadLetters)
	if err != nil {
		q.Unpublished = -1
		return q
	}
	if adm == nil {
		return q
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	groups, err := adm.ListGroups(lctx)
	if err != nil {
		q.LagError = err.Error()
		return q
	}
	lags, err := adm.Lag(lctx, c.ownGroups(groups.Groups())...)
	if err != nil {
		q.LagError = err.Error()
		return q
	}
	var total int64
	for _, l := range lags {
		if err := l.Error(); err != nil {
			q.LagError = err.Error()
			return q
		}
		total += l.Lag.Total()
	}
	q.Lag = total
	return q
}

// --- the checks ---

// chaosInvariant is one promise and whether it held.
type chaosInvariant struct {
	Name       string `json:"name"`
	OK         bool   `json:"ok"`
	Checked    int    `json:"checked"`
	Violations int    `json:"violations"`
	What       string `json:"what"`
}

// chaosReport is the report.
type chaosReport struct {
	Seed              uint64                     `json:"seed"`
	Operations        int                        `json:"operations"`
	OperationsByKind  map[string]chaosOpCount    `json:"operations_by_kind"`
	ClientRetries     int64                      `json:"client_retries"`
	ErrorsByKind      map[string]int             `json:"errors_by_kind"`
	FaultsInjected    map[string]int             `json:"faults_injected"`
	FaultsTotal       int                        `json:"faults_total"`
	FaultDetails      map[string]int             `json:"fault_details"`
	Invariants        []chaosInvariant           `json:"invariants"`
	Violations        []string                   `json:"violations"`
	Quiescence        chaosQuiet                 `json:"quiescence"`
	Figures           map[string]int             `json:"figures"`
	DeadLetters       map[string]int             `json:"dead_letters_by_consumer_and_reason"`
	LoadSeconds       float64                    `json:"load_seconds"`
	QuiescenceSeconds float64                    `json:"quiescence_seconds"`
	TotalSeconds      float64                    `json:"total_seconds"`
	Notes             []string                   `json:"notes"`
	first             map[string][]string        // the first violations of each invariant
	index             map[string]*chaosInvariant // by name
}

// The invariants, in the order they are reported.
const (
	invLost       = "no acknowledged reservation lost"
	invDupStore   = "no duplicate in the store"
	invDupPMS     = "no duplicate in the PMS or the gateway"
	invPMSInStep  = "PMS has the last change"
	invOverbook   = "no direct overbooking"
	invInventory  = "inventory matches reservations"
	invDeadLetter = "every failure dead-lettered with a reason"
	invStuck      = "nothing stuck"
	invNotify     = "notifications once per event"
)

var chaosInvariantWhat = map[string]string{
	invLost:       "every 201 and every acknowledged channel message is in the store with its last acknowledged change",
	invDupStore:   "one reservation per idempotency key and per channel reservation id",
	invDupPMS:     "one Apaleo booking per reservation (idempotency-key counters); no gateway operation run twice for one key",
	invPMSInStep:  "Apaleo has each booking's status, dates and version, unless its delivery was dead-lettered",
	invOverbook:   "direct bookings never exceed the units of a room type on a night",
	invInventory:  "units_sold equals the nights of reservations holding rooms: every cancellation gave its units back",
	invDeadLetter: "every event was handled by each consumer or dead-lettered, with a reason, on the dead-letter topic; every published outbox event is on Kafka",
	invStuck:      "no outbox backlog, parked message, replay in progress or consumer lag after the partners healed",
	invNotify:     "each reservation event's e-mails reached the SMTP relay once, under their own Message-ID; each webhook carried the event's id, verified, and reached the subscriber unless dead-lettered",
}

var chaosInvariantOrder = []string{invLost, invDupStore, invDupPMS, invPMSInStep, invOverbook, invInventory, invDeadLetter, invNotify, invStuck}

func newChaosReport() *chaosReport {
	r := &chaosReport{first: map[string][]string{}, index: map[string]*chaosInvariant{}, Violations: []string{}}
	r.Invariants = make([]chaosInvariant, len(chaosInvariantOrder))
	for i, name := range chaosInvariantOrder {
		r.Invariants[i] = chaosInvariant{Name: name, OK: true, What: chaosInvariantWhat[name]}
		r.index[name] = &r.Invariants[i]
	}
	return r
}

// checked counts one thing checked against an invariant.
func (r *chaosReport) checked(inv string) { r.index[inv].Checked++ }

// fail records a violation; the report lists the first few of each invariant.
func (r *chaosReport) fail(inv, format string, a ...any) {
	in := r.index[inv]
	in.OK = false
	in.Violations++
	if len(r.first[inv]) < 10 {
		r.first[inv] = append(r.first[inv], fmt.Sprintf(format, a...))
	}
}

func (r *chaosReport) finish() {
	for _, in := range r.Invariants {
		for _, v := range r.first[in.Name] {
			r.Violations = append(r.Violations, in.Name+": "+v)
		}
		if in.Violations > len(r.first[in.Name]) {
			r.Violations = append(r.Violations, fmt.Sprintf("%s: and %d more", in.Name, in.Violations-len(r.first[in.Name])))
		}
	}
}

// storedRes is a reservation as the store has it.
type storedRes struct {
	id, channel, externalID string
	version                 int
	doc                     canonical.Reservation
}

// chaosRecord is a Kafka record's identity.
type chaosRecord struct {
	id, handler, reason string
}

func (c *chaosRun) check(ctx context.Context, quiet chaosQuiet) *chaosReport {
	rep := newChaosReport()
	rep.Seed, rep.Quiescence = c.o.seed, quiet
	rep.Figures = map[string]int{}
	c.counts.mu.Lock()
	rep.OperationsByKind = map[string]chaosOpCount{}
	for k, v := range c.counts.byKind {
		rep.OperationsByKind[k] = *v
		rep.Operations += v.Count
	}
	rep.ErrorsByKind = map[string]int{}
	for k, v := range c.counts.errors {
		rep.ErrorsByKind[k] = v
	}
	c.counts.mu.Unlock()
	rep.ClientRetries = c.counts.retries.Load()
	c.faults.mu.Lock()
	rep.FaultsInjected, rep.FaultDetails = map[string]int{}, map[string]int{}
	for _, k := range c.faultKinds() {
		rep.FaultsInjected[k] = 0
	}
	for k, v := range c.faults.byKind {
		rep.FaultsInjected[k] = v
		rep.FaultsTotal += v
	}
	for k, v := range c.faults.details {
		rep.FaultDetails[k] = v
	}
	c.faults.mu.Unlock()
	rep.Notes = append(rep.Notes,
		"channel bookings (ota, apaleo) may overbook by design and are left out of the direct-overbooking check",
		"Apaleo's availability pull is off, so inventory is only what the load sold; breaker timings are the defaults (not configurable in serve)")

	if err := c.checkAll(ctx, rep); err != nil {
		rep.Violations = append(rep.Violations, "the checks could not run: "+err.Error())
	}
	rep.finish()
	return rep
}

func (c *chaosRun) checkAll(ctx context.Context, rep *chaosReport) error {
	stored, err := c.loadReservations(ctx)
	if err != nil {
		return err
	}
	byID := map[string]*storedRes{}
	byExternal := map[string]*storedRes{}
	for _, s := range stored {
		byID[s.id] = s
		if s.externalID != "" {
			byExternal[s.channel+"/"+s.externalID] = s
		}
	}
	keys := map[string]string{}
	rows, _ := c.pool.Query(ctx, `SELECT key, reservation_id::text FROM idempotency_keys`)
	var k, id string
	if _, err := pgx.ForEachRow(rows, []any{&k, &id}, func() error { keys[k] = id; return nil }); err != nil {
		return err
	}
	deadFor := map[string]bool{} // consumer/reservation id
	deadMsg := map[string]bool{} // consumer/message id
	type deadRow struct{ consumer, messageID, topic, reason, errText, status, reservationID string }
	var dead []deadRow
	rows, _ = c.pool.Query(ctx, `SELECT consumer, message_id, original_topic, reason, error, status, reservation_id FROM dead_letters ORDER BY id`)
	var d deadRow
	if _, err := pgx.ForEachRow(rows, []any{&d.consumer, &d.messageID, &d.topic, &d.reason, &d.errText, &d.status, &d.reservationID}, func() error {
		dead = append(dead, d)
		deadFor[d.consumer+"/"+d.reservationID] = true
		deadMsg[d.consumer+"/"+d.messageID] = true
		return nil
	}); err != nil {
		return err
	}
	rep.DeadLetters = map[string]int{}
	for _, d := range dead {
		rep.DeadLetters[d.consumer+": "+d.reason]++
	}

	c.checkAcknowledged(rep, byID, byExternal, keys)
	c.checkStoreDuplicates(ctx, rep, stored, keys)
	if err := c.checkPMS(ctx, rep, stored, byID, deadFor); err != nil {
		return err
	}
	if err := c.checkInventory(ctx, rep, stored); err != nil {
		return err
	}

	// Every event and inbound message: handled by each consumer, or dead-lettered.
	topicConsumers := map[string][]string{
		canonical.TopicReservationEvents:  {"outbound.apaleo", "payments.stripe", notify.ConsumerEmail, notify.ConsumerDispatch},
		notify.TopicWebhookDeliveries:     {notify.ConsumerWebhooks},
		canonical.TopicAvailabilityEvents: {arifanout.ConsumerName("ota")},
		canonical.TopicPaymentEvents:      nil,
		inbound.Topic("apaleo"):           {"inbound.apaleo"},
		inbound.Topic("ota"):              {"inbound.ota"},
	}
	var topics []string
	for t := range topicConsumers {
		topics = append(topics, t, router.DeadLetterTopic(t))
	}
	sort.Strings(topics)
	records, err := c.readTopics(ctx, topics)
	if err != nil {
		return fmt.Errorf("read Kafka: %w", err)
	}
	processed := map[string]bool{}
	rows, _ = c.pool.Query(ctx, `SELECT consumer, message_id FROM processed_messages`)
	var pc, pm string
	if _, err := pgx.ForEachRow(rows, []any{&pc, &pm}, func() error { processed[pc+"/"+pm] = true; return nil }); err != nil {
		return err
	}
	onKafka := map[string]bool{}
	for t, consumers := range topicConsumers {
		seen := map[string]bool{}
		for _, r := range records[t] {
			onKafka[t+"/"+r.id] = true
			if seen[r.id] {
				continue // published again after a crash: one message
			}
			seen[r.id] = true
			for _, cons := range consumers {
				rep.checked(invDeadLetter)
				if !processed[cons+"/"+r.id] && !deadMsg[cons+"/"+r.id] {
					rep.fail(invDeadLetter, "message %s on %s was neither handled by %s nor dead-lettered", r.id, t, cons)
				}
			}
		}
		rep.Figures["kafka_messages."+t] = len(seen)
	}
	rows, _ = c.pool.Query(ctx, `SELECT event_id::text, topic, event_type FROM outbox WHERE published_at IS NOT NULL`)
	var eid, et, etype string
	if _, err := pgx.ForEachRow(rows, []any{&eid, &et, &etype}, func() error {
		rep.checked(invDeadLetter)
		if !onKafka[et+"/"+eid] {
			rep.fail(invDeadLetter, "outbox event %s (%s) is marked published but is not on %s", eid, etype, et)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := c.checkNotifications(ctx, rep, processed, deadMsg); err != nil {
		return err
	}
	dlq := map[string]chaosRecord{}
	for t := range topicConsumers {
		for _, r := range records[router.DeadLetterTopic(t)] {
			dlq[t+"/"+r.handler+"/"+r.id] = r
		}
	}
	for _, d := range dead {
		rep.checked(invDeadLetter)
		if d.reason == "" || d.errText == "" {
			rep.fail(invDeadLetter, "dead letter of %s for %s has no reason or error", d.consumer, d.messageID)
		}
		r, ok := dlq[d.topic+"/"+d.consumer+"/"+d.messageID]
		switch {
		case !ok:
			rep.fail(invDeadLetter, "dead letter of %s for %s (%s) is not on %s", d.consumer, d.messageID, d.reason, router.DeadLetterTopic(d.topic))
		case r.reason == "":
			rep.fail(invDeadLetter, "dead-letter record of %s for %s has no reason header", d.consumer, d.messageID)
		}
	}

	q := rep.Quiescence
	rep.checked(invStuck)
	if !q.Reached {
		rep.fail(invStuck, "the hub was not quiet by the deadline: outbox backlog %d, parked %d, replaying %d, consumer lag %d %s",
			q.Unpublished, q.Parked, q.Replaying, q.Lag, q.LagError)
	}
	var unpublished, parked, replaying int64
	if err := c.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL),
		(SELECT count(*) FROM parked_messages), (SELECT count(*) FROM dead_letters WHERE status = 'replaying')`).Scan(&unpublished, &parked, &replaying); err != nil {
		return err
	}
	for _, x := range []struct {
		n    int64
		what string
	}{{unpublished, "outbox events unpublished"}, {parked, "messages parked"}, {replaying, "dead letters left replaying"}} {
		rep.checked(invStuck)
		if x.n > 0 {
			rep.fail(invStuck, "%d %s", x.n, x.what)
		}
	}
	rep.Figures["dead_letters"] = len(dead)
	return nil
}

func (c *chaosRun) loadReservations(ctx context.Context) ([]*storedRes, error) {
	rows, _ := c.pool.Query(ctx, `SELECT id::text, channel, coalesce(external_id, ''), version, document FROM reservations`)
	var out []*storedRes
	var s storedRes
	var doc []byte
	_, err := pgx.ForEachRow(rows, []any{&s.id, &s.channel, &s.externalID, &s.version, &doc}, func() error {
		x := s
		if err := json.Unmarshal(doc, &x.doc); err != nil {
			return fmt.Errorf("reservation %s: %w", s.id, err)
		}
		out = append(out, &x)
		return nil
	})
	return out, err
}

// checkAcknowledged: every acknowledged booking is in the store with its
// last acknowledged change (or a later change whose answer was lost).
func (c *chaosRun) checkAcknowledged(rep *chaosReport, byID, byExternal map[string]*storedRes, keys map[string]string) {
	c.book.mu.Lock()
	all := slices.Clone(c.book.all)
	c.book.mu.Unlock()
	for _, x := range all {
		if x.acked == nil {
			continue // never acknowledged: present or not, both are right
		}
		rep.checked(invLost)
		var s *storedRes
		what := ""
		if x.channel == canonical.ChannelDirect {
			s, what = byID[x.id], fmt.Sprintf("direct reservation %s (Idempotency-Key %s)", x.id, x.key)
			rep.Figures["acknowledged_direct"]++
		} else {
			s, what = byExternal[x.channel+"/"+x.key], fmt.Sprintf("%s booking %s", x.channel, x.key)
			rep.Figures["acknowledged_channel"]++
		}
		if s == nil {
			rep.fail(invLost, "%s was acknowledged but is not in the store", what)
			continue
		}
		got := stateOf(&s.doc)
		match := func(want chaosState) bool {
			if x.channel != canonical.ChannelDirect {
				want.Comments, got.Comments = nil, nil // channel messages carry no comments
			}
			return got.equal(want)
		}
		ok := match(*x.acked)
		for _, m := range x.maybe {
			ok = ok || match(m)
		}
		if !ok {
			rep.fail(invLost, "%s: the store has %s, the last acknowledged change was %s", what, got, *x.acked)
		}
		if x.channel == canonical.ChannelDirect && x.version > s.version {
			rep.fail(invLost, "%s: the store has version %d, version %d was acknowledged", what, s.version, x.version)
		}
	}
}

func (c *chaosRun) checkStoreDuplicates(ctx context.Context, rep *chaosReport, stored []*storedRes, keys map[string]string) {
	c.book.mu.Lock()
	sent := map[string]*chaosBooking{}
	for _, x := range c.book.all {
		sent[x.channel+"/"+x.key] = x
	}
	frontDesk := map[string]bool{}
	for _, id := range c.book.frontDesk {
		frontDesk[id] = true
	}
	c.book.mu.Unlock()
	keyOf := map[string]string{}
	for k, id := range keys {
		keyOf[id] = k
	}
	external := map[string]int{}
	for _, s := range stored {
		rep.checked(invDupStore)
		rep.Figures["reservations."+s.channel]++
		switch s.channel {
		case canonical.ChannelDirect:
			k, ok := keyOf[s.id]
			switch {
			case !ok:
				rep.fail(invDupStore, "direct reservation %s was made without an idempotency key record", s.id)
			case sent[canonical.ChannelDirect+"/"+k] == nil:
				rep.fail(invDupStore, "direct reservation %s has key %s, which the load never sent", s.id, k)
			}
		default:
			external[s.channel+"/"+s.externalID]++
			if external[s.channel+"/"+s.externalID] == 2 {
				rep.fail(invDupStore, "%s reservation %s is in the store more than once", s.channel, s.externalID)
			}
			if s.channel == "ota" && sent["ota/"+s.externalID] == nil {
				rep.fail(invDupStore, "ota reservation %s was never pushed", s.externalID)
			}
			if s.channel == apaleo.Channel && !frontDesk[s.externalID] {
				rep.fail(invDupStore, "apaleo reservation %s was never booked at the front desk", s.externalID)
			}
		}
	}
	for k, id := range keys {
		rep.checked(invDupStore)
		if x := sent[canonical.ChannelDirect+"/"+k]; x != nil && x.id != "" && x.id != id {
			rep.fail(invDupStore, "Idempotency-Key %s answered %s but the store records %s", k, x.id, id)
		}
	}
	rep.Figures["front_desk_bookings"] = len(frontDesk)
}

func (c *chaosRun) checkPMS(ctx context.Context, rep *chaosReport, stored []*storedRes, byID map[string]*storedRes, deadFor map[string]bool) error {
	stats := c.apaleo.Stats()
	booked := 0
	for _, s := range stored {
		if s.channel == apaleo.Channel {
			continue
		}
		rep.checked(invDupPMS)
		n := c.apaleo.BookingsWithKey(apaleo.IdempotencyKey(s.id))
		booked += n
		switch {
		case n > 1:
			rep.fail(invDupPMS, "reservation %s was booked %d times in Apaleo", s.id, n)
		case n == 0 && !deadFor["outbound.apaleo/"+s.id]:
			rep.checked(invPMSInStep)
			rep.fail(invPMSInStep, "reservation %s (%s) never reached Apaleo and has no dead letter", s.id, s.channel)
		}
	}
	rep.checked(invDupPMS)
	c.book.mu.Lock()
	frontDesk := len(c.book.frontDesk)
	c.book.mu.Unlock()
	if keyed := sumValues(stats.BookingsByKey); stats.Reservations != keyed+frontDesk {
		rep.fail(invDupPMS, "Apaleo has %d reservations: %d booked with Roomwire's keys and %d at the front desk", stats.Reservations, keyed, frontDesk)
	}
	rep.Figures["apaleo_reservations"] = stats.Reservations
	rep.Figures["apaleo_booking_posts"] = stats.BookingPosts

	st := c.stripe.Stats()
	rep.checked(invDupPMS)
	if st.MaxExecutions > 1 {
		rep.fail(invDupPMS, "Stripe ran one operation %d times for one idempotency key", st.MaxExecutions)
	}
	rep.Figures["stripe_payments"] = st.Holds
	rep.Figures["stripe_authorizations"] = st.Authorizations

	rows, _ := c.pool.Query(ctx, `SELECT reservation_id::text, partner_ids, synced_version FROM connector_links WHERE connector = 'apaleo' AND origin = 'roomwire'`)
	var rid string
	var pids []string
	var synced int
	_, err := pgx.ForEachRow(rows, []any{&rid, &pids, &synced}, func() error {
		s := byID[rid]
		if s == nil || deadFor["outbound.apaleo/"+rid] || len(pids) == 0 || len(s.doc.RoomStays) == 0 {
			return nil
		}
		rep.checked(invPMSInStep)
		a := c.apaleo.Reservation(pids[0])
		if a == nil {
			rep.fail(invPMSInStep, "reservation %s is linked to Apaleo %s, which Apaleo does not have", rid, pids[0])
			return nil
		}
		wantStatus := apaleo.StatusConfirmed
		if s.doc.Status == canonical.StatusCancelled {
			wantStatus = apaleo.StatusCanceled
		}
		stay := s.doc.RoomStays[0]
		if a.Status != wantStatus || !strings.HasPrefix(a.Arrival, stay.Arrival.String()) || !strings.HasPrefix(a.Departure, stay.Departure.String()) {
			rep.fail(invPMSInStep, "reservation %s is %s %s..%s; Apaleo %s has %s %s..%s", rid, s.doc.Status, stay.Arrival, stay.Departure,
				pids[0], a.Status, a.Arrival, a.Departure)
		}
		if synced != s.version {
			rep.fail(invPMSInStep, "reservation %s is at version %d; Apaleo was last given version %d", rid, s.version, synced)
		}
		return nil
	})
	return err
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// checkInventory recomputes units sold per property, room type and night
// from the reservations, and compares them with the inventory rows.
func (c *chaosRun) checkInventory(ctx context.Context, rep *chaosReport, stored []*storedRes) error {
	type night struct {
		prop, roomType string
		night          canonical.Date
	}
	sold, direct := map[night]int{}, map[night]int{}
	for _, s := range stored {
		if !s.doc.Status.HoldsInventory() {
			continue
		}
		for _, st := range s.doc.RoomStays {
			for _, n := range canonical.Nights(st.Arrival, st.Departure) {
				k := night{s.doc.PropertyID, st.RoomType, n}
				sold[k]++
				if s.channel == canonical.ChannelDirect {
					direct[k]++
				}
			}
		}
	}
	capacity := map[string]int{}
	rows, _ := c.pool.Query(ctx, `SELECT property_id, code, units FROM room_types`)
	var p, code string
	var units int
	if _, err := pgx.ForEachRow(rows, []any{&p, &code, &units}, func() error { capacity[p+"/"+code] = units; return nil }); err != nil {
		return err
	}
	rows, _ = c.pool.Query(ctx, `SELECT property_id, room_type, night, units_sellable, units_sold FROM inventory`)
	var rt string
	var d time.Time
	var sellable *int
	var unitsSold int
	rowSold := map[night]int{}
	rowCap := map[night]int{}
	if _, err := pgx.ForEachRow(rows, []any{&p, &rt, &d, &sellable, &unitsSold}, func() error {
		k := night{p, rt, canonical.DateOf(d)}
		rowSold[k] = unitsSold
		rowCap[k] = capacity[p+"/"+rt]
		if sellable != nil {
			rowCap[k] = *sellable
		}
		return nil
	}); err != nil {
		return err
	}
	all := map[night]bool{}
	for k := range sold {
		all[k] = true
	}
	for k := range rowSold {
		all[k] = true
	}
	for k := range all {
		rep.checked(invInventory)
		if rowSold[k] != sold[k] {
			rep.fail(invInventory, "%s %s %s: units_sold is %d, reservations hold %d", k.prop, k.roomType, k.night, rowSold[k], sold[k])
		}
		cp, ok := rowCap[k]
		if !ok {
			cp = capacity[k.prop+"/"+k.roomType]
		}
		rep.checked(invOverbook)
		if direct[k] > cp {
			rep.fail(invOverbook, "%s %s %s: %d direct bookings for %d units", k.prop, k.roomType, k.night, direct[k], cp)
		}
		if sold[k] > cp {
			rep.Figures["nights_overbooked_by_channels"]++
		}
	}
	return nil
}

// readTopics reads every record of topics, from the start to the end
// offsets of the moment.
func (c *chaosRun) readTopics(ctx context.Context, topics []string) (map[string][]chaosRecord, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokerSeeds()...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	left := map[string]int64{} // topic/partition -> end offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			left[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.Offset
		}
	})
	out := map[string][]chaosRecord{}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(left) > 0 {
		fs := cl.PollFetches(rctx)
		if rctx.Err() != nil {
			return nil, fmt.Errorf("%d partitions not read to their end in a minute", len(left))
		}
		fs.EachRecord(func(r *kgo.Record) {
			rec := chaosRecord{}
			for _, h := range r.Headers {
				switch h.Key {
				case kafka.UUIDHeaderKey:
					rec.id = string(h.Value)
				case router.MetadataDLQHandler:
					rec.handler = string(h.Value)
				case router.MetadataDLQReason:
					rec.reason = string(h.Value)
				}
			}
			out[r.Topic] = append(out[r.Topic], rec)
			k := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
			if end, ok := left[k]; ok && r.Offset+1 >= end {
				delete(left, k)
			}
		})
	}
	return out, nil
}

// --- the report ---

func printChaosReport(w io.Writer, rep *chaosReport) {
	fmt.Fprintf(w, "Roomwire chaos: seed %d, %d operations, %d faults, %.1fs (load %.1fs, quiescence %.1fs)\n\n",
		rep.Seed, rep.Operations, rep.FaultsTotal, rep.TotalSeconds, rep.LoadSeconds, rep.QuiescenceSeconds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "operation\tcount\tok\trefused\terrors\tunknown\t\n")
	kinds := chaosSortedKeys(rep.OperationsByKind)
	for _, k := range kinds {
		o := rep.OperationsByKind[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", k, o.Count, o.OK, o.Refused, o.Errors, o.Unknown)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "fault\tinjected\n")
	for _, k := range chaosSortedKeys(rep.FaultsInjected) {
		fmt.Fprintf(tw, "%s\t%d\n", k, rep.FaultsInjected[k])
	}
	tw.Flush()
	if len(rep.ErrorsByKind) > 0 {
		fmt.Fprintf(w, "\nunexpected answers:\n")
		for _, k := range chaosSortedKeys(rep.ErrorsByKind) {
			fmt.Fprintf(w, "  %-50s %d\n", k, rep.ErrorsByKind[k])
		}
	}
	if len(rep.DeadLetters) > 0 {
		fmt.Fprintf(w, "\ndead letters:\n")
		for _, k := range chaosSortedKeys(rep.DeadLetters) {
			fmt.Fprintf(w, "  %-50s %d\n", k, rep.DeadLetters[k])
		}
	}
	fmt.Fprintf(w, "\nfigures:\n")
	for _, k := range chaosSortedKeys(rep.Figures) {
		fmt.Fprintf(w, "  %-50s %d\n", k, rep.Figures[k])
	}
	fmt.Fprintf(w, "  %-50s %d\n", "client retries", rep.ClientRetries)
	fmt.Fprintf(w, "\ninvariants:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, in := range rep.Invariants {
		verdict := "OK"
		if !in.OK {
			verdict = fmt.Sprintf("FAIL (%d)", in.Violations)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d checked\n", in.Name, verdict, in.Checked)
	}
	tw.Flush()
	if len(rep.Violations) > 0 {
		fmt.Fprintf(w, "\nviolations:\n")
		for _, v := range rep.Violations {
			fmt.Fprintf(w, "  - %s\n", v)
		}
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

func chaosSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
