package reservations

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// ErrForbidden means the caller's scope does not include the property.
var ErrForbidden = errors.New("forbidden")

// CreateRequest asks for a new reservation.
type CreateRequest struct {
	// Reservation holds what the booker gives: property, channel, external id,
	// guests, room stays, guarantee and comments. Room stays without nightly
	// prices are priced from the rate plan; id, status, version and times are
	// set by the store.
	Reservation canonical.Reservation
	// IdempotencyKey, when set, makes a repeat of the same request by the same
	// Principal answer the reservation it created the first time.
	IdempotencyKey string
	Principal      string
	// AllowOverbooking is for channel bookings: the guest has already booked,
	// so a reservation with no availability is stored and flagged overbooked
	// rather than refused.
	AllowOverbooking bool
	// ChannelRevision is the channel's stamp of this version of its booking.
	ChannelRevision string
}

// CreateResult is a created, or replayed, reservation.
type CreateResult struct {
	Reservation *canonical.Reservation
	Replayed    bool // an earlier identical request created it
}

// Create books a reservation: it prices the stays, takes one unit of inventory
// per room and night, and writes the reservation, its first revision and its
// events in one transaction. It answers ErrNoAvailability when a night is sold
// out (unless AllowOverbooking), a canonical.ValidationError for bad input,
// and ErrIdempotencyConflict when the key or the (channel, external id) was
// used for a different request.
func (s *Store) Create(ctx context.Context, scope Scope, req CreateRequest) (CreateResult, error) {
	res, err := s.create(ctx, scope, req)
	s.observeBooking(req.Reservation.Channel, res, err)
	return res, err
}

func (s *Store) create(ctx context.Context, scope Scope, req CreateRequest) (CreateResult, error) {
	r := *req.Reservation.Clone() // never write into the caller's slices
	if r.Channel == "" {
		r.Channel = canonical.ChannelDirect
	}
	hash := requestHash(&r)
	if !scope.Allows(r.PropertyID) {
		return CreateResult{}, fmt.Errorf("property %q is outside this API key's scope: %w", r.PropertyID, ErrForbidden)
	}
	prop, err := s.catalog.get(ctx, s.pool, r.PropertyID)
	if errors.Is(err, ErrNotFound) {
		var pr canonical.Problems
		pr.Add("property_id", "no property %q; define it with PUT /v1/properties/%s first", r.PropertyID, r.PropertyID)
		return CreateResult{}, pr.Err()
	}
	if err != nil {
		return CreateResult{}, err
	}
	now := s.now()
	r.SchemaVersion = canonical.SchemaVersion
	r.ID = uuid.Must(uuid.NewV7()).String()
	r.Status = canonical.StatusConfirmed
	r.Version = 1
	r.CreatedAt, r.ModifiedAt = now, now
	r.Flags = nil
	// Validate before anything touches the database, so that bad input never
	// reaches a query; pricing happens in the transaction, on its connection.
	if err := checkCatalog(prop, &r); err != nil {
		return CreateResult{}, err
	}
	// A channel booking may come with the confirmation number its channel
	// was already given; Roomwire's own bookings draw one.
	given := r.ConfirmationNumber != ""
	if given && !canonical.ValidConfirmationNumber(r.ConfirmationNumber) {
		var pr canonical.Problems
		pr.Add("confirmation_number", "must be 6 to 32 letters, digits and -")
		return CreateResult{}, pr.Err()
	}
	for attempt := 0; ; attempt++ {
		if !given {
			r.ConfirmationNumber = newConfirmationNumber()
		}
		var earlier *canonical.Reservation
		for try := 0; try < 5; try++ {
			earlier, err = s.createTx(ctx, req, prop, &r, hash, now)
			if !isRetryableTxError(err) {
				break
			}
		}
		switch {
		case err == nil && earlier != nil:
			return CreateResult{Reservation: earlier, Replayed: true}, nil
		case err == nil:
			s.outboxWritten()
			return CreateResult{Reservation: &r}, nil
		case isUniqueViolation(err, "reservations_confirmation_number_key") && given:
			return CreateResult{}, fmt.Errorf("confirmation number %s belongs to another reservation: %w", r.ConfirmationNumber, ErrIdempotencyConflict)
		case isUniqueViolation(err, "reservations_confirmation_number_key") && attempt < 3:
			continue // a rare clash of random confirmation numbers: draw again
		case isUniqueViolation(err, ""):
			// A concurrent request with another key but the same channel
			// reservation won the race; answer as it did.
			if res, err2 := s.findEarlierOutsideTx(ctx, req, &r, hash); res != nil || err2 != nil {
				return CreateResult{Reservation: res, Replayed: res != nil}, err2
			}
		}
		return CreateResult{}, err
	}
}

// createTx writes r in one transaction, in two round trips: BEGIN, the
// replay look-up, the prices and the inventory change go in one pipeline,
// and the inserts with COMMIT in a second one. Every booking used to wait
// for six round trips, each also a turn of the database's CPU. It returns
// the reservation an earlier identical request made, if any (and writes
// nothing then).
func (s *Store) createTx(ctx context.Context, req CreateRequest, prop *Property, r *canonical.Reservation, hash []byte, now time.Time) (*canonical.Reservation, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	// Release closes a connection left inside a transaction, so a failed
	// ROLLBACK cannot leak one to the next caller.
	defer conn.Release()
	c := conn.Conn()
	rollback := func() {
		if c.PgConn().TxStatus() != 'I' {
			c.Exec(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // a failure leaves the connection to be closed
		}
	}

	r.Flags = nil
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// Concurrent repeats of one request queue on the lock, and all but the
	// first find the reservation it made.
	lock, replayable := replayLockKey(req, r)
	if replayable {
		queueFindEarlier(b, lock, req, r)
	}
	pricing := queuePrices(b, prop, r)
	restr := queueReservationRestrictions(b, r)
	delta := holds(r)
	keys := queueAdjustInventory(b, r.PropertyID, delta, req.AllowOverbooking)

	br := c.SendBatch(ctx, b)
	var earlierID string
	var nights []nightAvailability
	_, err = br.Exec()
	if err == nil && replayable {
		earlierID, err = readFindEarlier(br, req, r, hash)
	}
	if err == nil && earlierID == "" && pricing != nil {
		err = pricing.read(br)
	}
	if err == nil && earlierID == "" && restr != nil {
		err = restr.read(br)
	}
	if err == nil && earlierID == "" && len(keys) > 0 {
		// A replay's inventory change (it ran in the pipeline) is rolled
		// back unread: the request was answered by the first one.
		nights, err = readAdjustInventory(br, keys, delta)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && earlierID != "" {
		rollback()
		return getReservation(ctx, c, earlierID) // committed by the first request; read on this connection, never a second one
	}
	switch {
	case err == nil && pricing != nil:
		err = pricing.apply(r)
	case err == nil:
		err = total(r) // every stay came with its prices
	}
	if err == nil {
		err = r.Validate()
	}
	breach := restr.breach(r, nil)
	if err == nil && breach != nil && !req.AllowOverbooking {
		err = &RestrictedError{Breach: *breach}
	}
	if err != nil {
		rollback()
		return nil, err
	}

	events := []canonical.Event{newEvent(ctx, canonical.EventReservationCreated, r.PropertyID, now, r, nil)}
	if overbooked(nights) {
		r.SetFlag(canonical.FlagOverbooked)
		events = append(events, newEvent(ctx, canonical.EventReservationOverbooked, r.PropertyID, now, r, nil))
	}
	if breach != nil {
		// A channel's guest has booked: kept, and flagged for the hotel.
		r.SetFlag(canonical.FlagRestricted)
		events = append(events, newEvent(ctx, canonical.EventReservationRestricted, r.PropertyID, now, r, nil))
	}
	events = append(events, availabilityEvent(ctx, r.PropertyID, now, nights)...)
	// Marshalled once: the document, the revision and the events share it.
	doc, err := json.Marshal(r)
	if err != nil {
		rollback()
		return nil, err
	}
	var externalID *string
	if r.ExternalID != "" {
		externalID = &r.ExternalID
	}
	b = &pgx.Batch{}
	b.Queue(`INSERT INTO reservations (id, confirmation_number, property_id, channel, external_id, status,
			version, arrival, departure, guest_search, request_hash, document, created_at, modified_at, channel_revision)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, nullif($14, ''))`,
		r.ID, r.ConfirmationNumber, r.PropertyID, r.Channel, externalID, string(r.Status),
		r.Version, r.Arrival().Time(), r.Departure().Time(), guestSearch(r), hash, doc, now, req.ChannelRevision)
	b.Queue(`INSERT INTO reservation_revisions (reservation_id, version, change, document, created_at)
		VALUES ($1, $2, $3, $4, $5)`, r.ID, r.Version, string(canonical.EventReservationCreated), doc, now)
	if req.IdempotencyKey != "" {
		b.Queue(`INSERT INTO idempotency_keys (principal, key, request_hash, reservation_id) VALUES ($1, $2, $3, $4)`,
			req.Principal, req.IdempotencyKey, hash, r.ID)
	}
	if err := queueEventsWithDocument(b, events, r, doc); err != nil {
		rollback()
		return nil, err
	}
	// After an error PostgreSQL skips the rest of the pipeline, COMMIT
	// included, and the transaction is rolled back below.
	b.Queue("COMMIT")
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		rollback()
		return nil, err
	}
	return nil, nil
}

// findEarlier returns the reservation an earlier identical request created, by
// idempotency key or by (channel, external id); or ErrIdempotencyConflict when
// either was used for a different request. It first takes the advisory lock
// lock, so that concurrent repeats of one request queue behind the first, and
// sends lock and look-ups in one round trip.
func findEarlier(ctx context.Context, tx pgx.Tx, lock int64, req CreateRequest, r *canonical.Reservation, hash []byte) (*canonical.Reservation, error) {
	b := &pgx.Batch{}
	queueFindEarlier(b, lock, req, r)
	br := tx.SendBatch(ctx, b)
	id, err := readFindEarlier(br, req, r, hash)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil || id == "" {
		return nil, err
	}
	return getReservation(ctx, tx, id)
}

// queueFindEarlier queues the lock and the look-ups of findEarlier on b.
func queueFindEarlier(b *pgx.Batch, lock int64, req CreateRequest, r *canonical.Reservation) {
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, lock)
	b.Queue(`SELECT reservation_id::text, request_hash FROM idempotency_keys WHERE principal = $1 AND key = $2`, req.Principal, req.IdempotencyKey)
	b.Queue(`SELECT id::text, request_hash FROM reservations WHERE property_id = $1 AND channel = $2 AND external_id = $3`, r.PropertyID, r.Channel, r.ExternalID)
}

// readFindEarlier reads what queueFindEarlier queued: the id of the
// reservation an earlier identical request made, "" if none, or
// ErrIdempotencyConflict.
func readFindEarlier(br pgx.BatchResults, req CreateRequest, r *canonical.Reservation, hash []byte) (string, error) {
	if _, err := br.Exec(); err != nil {
		return "", err
	}
	var byKey, byExternal earlierRequest
	if err := byKey.scan(br.QueryRow(), req.IdempotencyKey != ""); err != nil {
		return "", err
	}
	if err := byExternal.scan(br.QueryRow(), r.ExternalID != ""); err != nil {
		return "", err
	}
	switch {
	case byKey.found && string(byKey.hash) != string(hash):
		return "", fmt.Errorf("Idempotency-Key %q was first used with a different request; use a new key for a new request: %w", req.IdempotencyKey, ErrIdempotencyConflict)
	case byKey.found:
		return byKey.id, nil
	case byExternal.found && string(byExternal.hash) != string(hash):
		return "", fmt.Errorf("channel %s already has a different reservation with external id %q at property %s: %w", r.Channel, r.ExternalID, r.PropertyID, ErrIdempotencyConflict)
	case byExternal.found:
		return byExternal.id, nil
	}
	return "", nil
}

// findEarlierOutsideTx is findEarlier for after a lost race, when the winner
// has committed.
func (s *Store) findEarlierOutsideTx(ctx context.Context, req CreateRequest, r *canonical.Reservation, hash []byte) (*canonical.Reservation, error) {
	lock, ok := replayLockKey(req, r)
	if !ok {
		return nil, nil
	}
	var res *canonical.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		res, err = findEarlier(ctx, tx, lock, req, r, hash)
		return err
	})
	return res, err
}

type earlierRequest struct {
	found bool
	id    string
	hash  []byte
}

func (e *earlierRequest) scan(row pgx.Row, wanted bool) error {
	err := row.Scan(&e.id, &e.hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	e.found = wanted
	return nil
}

// replayLockKey names what makes two create requests the same booking: the
// caller's idempotency key, else the channel's reservation id.
func replayLockKey(req CreateRequest, r *canonical.Reservation) (int64, bool) {
	h := fnv.New64a()
	switch {
	case req.IdempotencyKey != "":
		fmt.Fprintf(h, "idem\x00%s\x00%s", req.Principal, req.IdempotencyKey)
	case r.ExternalID != "":
		fmt.Fprintf(h, "ext\x00%s\x00%s\x00%s", r.PropertyID, r.Channel, r.ExternalID)
	default:
		return 0, false
	}
	return int64(h.Sum64()), true
}

// requestHash fingerprints what a booker asked for, to tell a repeat of a
// request from a different request under the same key.
func requestHash(r *canonical.Reservation) []byte {
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return h[:]
}

// checkCatalog checks r against the property's catalogue and validates it,
// filling the total's currency when none is given.
func checkCatalog(prop *Property, r *canonical.Reservation) error {
	var pr canonical.Problems
	for i, st := range r.RoomStays {
		f := fmt.Sprintf("room_stays[%d]", i)
		rt, ok := prop.roomType(st.RoomType)
		if !ok && st.RoomType != "" {
			pr.Add(f+".room_type", "%q is not a room type of property %s", st.RoomType, prop.ID)
		}
		rp, okPlan := prop.ratePlan(st.RatePlan)
		switch {
		case !okPlan && st.RatePlan != "":
			pr.Add(f+".rate_plan", "%q is not a rate plan of property %s", st.RatePlan, prop.ID)
		case okPlan && ok && rp.RoomType != st.RoomType:
			pr.Add(f+".rate_plan", "rate plan %s sells room type %s, not %s", rp.Code, rp.RoomType, st.RoomType)
		}
		if ok && rt.MaxOccupancy > 0 && st.Adults+len(st.ChildrenAges) > rt.MaxOccupancy {
			pr.Add(f+".adults", "room type %s sleeps at most %d guests", rt.Code, rt.MaxOccupancy)
		}
	}
	if r.Total.IsZero() || r.Total.Currency == "" {
		r.Total = canonical.NewMoney(0, prop.Currency)
	}
	// A booking in another currency would be stored, charged and sent to
	// the PMS in it, unnoticed.
	if _, known := canonical.CurrencyExponent(r.Total.Currency); known && r.Total.Currency != prop.Currency {
		pr.Add("total.currency", "is %s but property %s sells in %s", r.Total.Currency, prop.ID, prop.Currency)
	}
	pr.Merge("", r.Validate())
	return pr.Err()
}

// priceQuery reads the rates of the stays that carry no prices, to fill
// their nightly prices from the rate plans (see apply).
type priceQuery struct {
	sql    string
	args   []any
	prices map[priceKey]canonical.Rate
}

type priceKey struct {
	plan  string
	night canonical.Date
}

// newPriceQuery returns the query of r's missing prices, or nil when every
// stay has its prices.
func newPriceQuery(prop *Property, r *canonical.Reservation) *priceQuery {
	var plans []string
	var from, to canonical.Date
	for _, st := range r.RoomStays {
		if len(st.NightlyPrices) > 0 {
			continue
		}
		plans = append(plans, st.RatePlan)
		if from.IsZero() || st.Arrival.Before(from) {
			from = st.Arrival
		}
		if st.Departure.After(to) {
			to = st.Departure
		}
	}
	if len(plans) == 0 {
		return nil
	}
	return &priceQuery{
		sql: `SELECT rate_plan, night, amount, currency, rate FROM rates
			WHERE property_id = $1 AND rate_plan = ANY($2) AND night >= $3 AND night < $4`,
		args: []any{prop.ID, plans, from.Time(), to.Time()},
	}
}

// queuePrices queues the price query of r on b, or returns nil when there is
// nothing to price.
func queuePrices(b *pgx.Batch, prop *Property, r *canonical.Reservation) *priceQuery {
	p := newPriceQuery(prop, r)
	if p != nil {
		b.Queue(p.sql, p.args...)
	}
	return p
}

// read reads the queued price query's rows from br.
func (p *priceQuery) read(br pgx.BatchResults) error {
	rows, err := br.Query()
	return p.scan(rows, err)
}

func (p *priceQuery) scan(rows pgx.Rows, err error) error {
	if err != nil {
		return err
	}
	p.prices = map[priceKey]canonical.Rate{}
	var plan, currency string
	var night time.Time
	var amount int64
	var detail []byte
	_, err = pgx.ForEachRow(rows, []any{&plan, &night, &amount, &currency, &detail}, func() error {
		rate, err := rateOf(amount, currency, detail)
		p.prices[priceKey{plan, canonical.DateOf(night)}] = rate
		return err
	})
	return err
}

// apply fills the stays without prices from the rates read, and the total.
func (p *priceQuery) apply(r *canonical.Reservation) error {
	for i := range r.RoomStays {
		st := &r.RoomStays[i]
		if len(st.NightlyPrices) > 0 {
			continue
		}
		for _, n := range st.Nights() {
			rate, ok := p.prices[priceKey{st.RatePlan, n}]
			if !ok {
				return fmt.Errorf("rate plan %s has no price for %s: %w", st.RatePlan, n, ErrNoAvailability)
			}
			st.NightlyPrices = append(st.NightlyPrices, canonical.NightlyPrice{Date: n, Price: rate.For(st.Adults, len(st.ChildrenAges))})
		}
	}
	return total(r)
}

// total sets r's total to the sum of its nightly prices.
func total(r *canonical.Reservation) error {
	total, err := r.SumNightlyPrices()
	if err != nil {
		var pr canonical.Problems
		pr.Add("room_stays", "nightly prices mix currencies: %v", err)
		return pr.Err()
	}
	if total.Currency != "" {
		r.Total = total
	}
	return nil
}

// hold is a number of units of one room type on one night.
type hold struct {
	roomType string
	night    canonical.Date
}

// holds returns the units r occupies per room type and night.
func holds(r *canonical.Reservation) map[hold]int {
	h := map[hold]int{}
	if !r.Status.HoldsInventory() {
		return h
	}
	for _, st := range r.RoomStays {
		for _, n := range st.Nights() {
			h[hold{st.RoomType, n}]++
		}
	}
	return h
}

// queueAdjustInventory queues on b the change of units sold by delta
// (positive takes, negative releases) and returns the (room type, night)
// rows it changes; none are queued when nothing changes. Rows are locked
// in (room type, night) order, so that concurrent bookings lock them in
// the same order. readAdjustInventory reads the outcome: a take fails with
// ErrNoAvailability when a night has too few units, unless allowOverbooking.
func queueAdjustInventory(b *pgx.Batch, propertyID string, delta map[hold]int, allowOverbooking bool) []hold {
	keys := make([]hold, 0, len(delta))
	for k, q := range delta {
		if q != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].roomType != keys[j].roomType {
			return keys[i].roomType < keys[j].roomType
		}
		return keys[i].night.Before(keys[j].night)
	})
	roomTypes := make([]string, len(keys))
	nights := make([]time.Time, len(keys))
	qty := make([]int32, len(keys))
	for i, k := range keys {
		roomTypes[i], nights[i], qty[i] = k.roomType, k.night.Time(), int32(delta[k])
	}
	b.Queue(`INSERT INTO inventory (property_id, room_type, night)
		SELECT $1, t.room_type, t.night FROM unnest($2::text[], $3::date[]) AS t(room_type, night)
		ON CONFLICT DO NOTHING`, propertyID, roomTypes, nights)
	// Lock in a fixed order first: an UPDATE joined to a list locks rows in
	// whatever order its plan visits them, and crossed orders deadlock.
	b.Queue(`SELECT 1 FROM inventory i JOIN unnest($2::text[], $3::date[]) AS t(room_type, night)
		ON i.room_type = t.room_type AND i.night = t.night
		WHERE i.property_id = $1 ORDER BY i.room_type, i.night FOR UPDATE OF i`, propertyID, roomTypes, nights)
	b.Queue(`UPDATE inventory i SET units_sold = greatest(i.units_sold + t.qty, 0)
		FROM unnest($2::text[], $3::date[], $4::int[]) AS t(room_type, night, qty), room_types rt
		WHERE i.property_id = $1 AND i.room_type = t.room_type AND i.night = t.night
		  AND rt.property_id = i.property_id AND rt.code = i.room_type
		  AND (t.qty <= 0 OR $5 OR i.units_sold + t.qty <= coalesce(i.units_sellable, rt.units))
		RETURNING i.room_type, i.night, coalesce(i.units_sellable, rt.units) - i.units_sold`,
		propertyID, roomTypes, nights, qty, allowOverbooking)
	return keys
}

// readAdjustInventory reads what queueAdjustInventory queued: the
// availability left on every night changed, or ErrNoAvailability.
func readAdjustInventory(br pgx.BatchResults, keys []hold, delta map[hold]int) ([]nightAvailability, error) {
	for i := 0; i < 2; i++ {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	rows, _ := br.Query()
	got, err := pgx.CollectRows(rows, scanNightAvailability)
	if err != nil {
		return nil, err
	}
	if len(got) < len(keys) {
		changed := map[hold]bool{}
		for _, n := range got {
			changed[hold{n.RoomType, n.Night}] = true
		}
		for _, k := range keys {
			if !changed[k] {
				return nil, fmt.Errorf("room type %s has no unit left on %s: %w", k.roomType, k.night, ErrNoAvailability)
			}
		}
	}
	// Report only the nights where units were taken as possibly oversold.
	for i := range got {
		if delta[hold{got[i].RoomType, got[i].Night}] < 0 && got[i].Available < 0 {
			got[i].Available = 0
		}
	}
	return got, nil
}

func overbooked(nights []nightAvailability) bool {
	for _, n := range nights {
		if n.Available < 0 {
			return true
		}
	}
	return false
}

func guestSearch(r *canonical.Reservation) string {
	parts := []string{r.PrimaryGuest.GivenName, r.PrimaryGuest.Surname, r.PrimaryGuest.Email, r.ConfirmationNumber}
	for _, g := range r.AdditionalGuests {
		parts = append(parts, g.GivenName, g.Surname)
	}
	return strings.ToLower(strings.Join(parts, " "))
}

// confirmationAlphabet leaves out 0, 1, I and O, which guests misread.
const confirmationAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func newConfirmationNumber() string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = confirmationAlphabet[int(b[i])%len(confirmationAlphabet)]
	}
	return "RW" + string(b)
}

// UpdateOptions qualify an update.
type UpdateOptions struct {
	// IfVersion, when non-zero, is the version the caller last saw; a
	// reservation changed since answers ErrVersionConflict.
	IfVersion int
	// AllowOverbooking and ChannelRevision: see CreateRequest.
	AllowOverbooking bool
	ChannelRevision  string
}

// Update changes a reservation with fn, which may change guests, room stays,
// comments, guarantee and status. Room stays without nightly prices are
// re-priced; inventory is taken for new nights or room types and released for
// those no longer held. A change that leaves the reservation as it was makes no
// new version and no event.
func (s *Store) Update(ctx context.Context, scope Scope, id string, opts UpdateOptions, fn func(*canonical.Reservation) error) (*canonical.Reservation, error) {
	var out *canonical.Reservation
	var err error
	for try := 0; try < 5; try++ {
		out, err = s.updateTx(ctx, scope, id, opts, fn)
		if !isRetryableTxError(err) {
			break
		}
	}
	if err == nil {
		s.outboxWritten()
	}
	return out, err
}

// updateTx is one attempt of Update, in three round trips: BEGIN with the
// locked read, then the prices and the inventory change, then the writes
// with COMMIT (it used to take six).
func (s *Store) updateTx(ctx context.Context, scope Scope, id string, opts UpdateOptions, fn func(*canonical.Reservation) error) (*canonical.Reservation, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release() // closes a connection left inside a transaction
	c := conn.Conn()
	rollback := func() {
		if c.PgConn().TxStatus() != 'I' {
			c.Exec(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // a failure leaves the connection to be closed
		}
	}
	fail := func(err error) (*canonical.Reservation, error) {
		rollback()
		return nil, err
	}
	unchanged := func(old *canonical.Reservation) (*canonical.Reservation, error) {
		rollback() // nothing was written; the lock goes with the transaction
		return old, nil
	}

	cond, value := reservationRef(id)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(`SELECT document FROM reservations WHERE `+cond+` FOR UPDATE`, value)
	br := c.SendBatch(ctx, b)
	var doc []byte
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&doc)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fail(notFound("reservation", id))
	}
	if err != nil {
		return fail(err)
	}
	var old canonical.Reservation
	if err := json.Unmarshal(doc, &old); err != nil {
		return fail(fmt.Errorf("reservation %s: stored document: %w", id, err))
	}
	if !scope.Allows(old.PropertyID) {
		return fail(notFound("reservation", id))
	}
	r := old.Clone()
	if err := fn(r); err != nil {
		return fail(err)
	}
	if reflect.DeepEqual(r, &old) {
		return unchanged(&old)
	}
	// What identifies the reservation is not the caller's to change.
	r.ID, r.ConfirmationNumber, r.PropertyID, r.Channel, r.ExternalID = old.ID, old.ConfirmationNumber, old.PropertyID, old.Channel, old.ExternalID
	r.Version, r.CreatedAt, r.ModifiedAt, r.SchemaVersion = old.Version, old.CreatedAt, old.ModifiedAt, canonical.SchemaVersion
	prop, err := s.catalog.get(ctx, c, r.PropertyID)
	if err != nil {
		return fail(err)
	}
	if r.Status != old.Status {
		if !r.Status.Valid() {
			var pr canonical.Problems
			pr.Add("status", "%q is not one of confirmed, cancelled, no_show, checked_in, checked_out", r.Status)
			return fail(pr.Err())
		}
		if err := prop.lifecycle(&old).Check(canonical.StayOf(&old), r.Status, s.now()); err != nil {
			// Both: the API answers invalid_transition with the allowed
			// statuses; other callers treat it as any invalid state.
			return fail(fmt.Errorf("reservation %s: %w (%w)", id, err, ErrInvalidState))
		}
	}
	if err := checkCatalog(prop, r); err != nil {
		return fail(err)
	}
	// Prices and inventory in one round trip. The checks below come first
	// when they fail: the inventory change is then rolled back unread.
	delta := holds(r)
	for k, q := range holds(&old) {
		delta[k] -= q
	}
	b = &pgx.Batch{}
	pricing := queuePrices(b, prop, r)
	restr := queueReservationRestrictions(b, r)
	keys := queueAdjustInventory(b, r.PropertyID, delta, opts.AllowOverbooking)
	var nights []nightAvailability
	var breach *canonical.RestrictionBreach
	if b.Len() > 0 {
		br = c.SendBatch(ctx, b)
		err = nil
		if pricing != nil {
			err = pricing.read(br)
			if err == nil {
				err = pricing.apply(r)
			}
		} else {
			err = total(r)
		}
		if err == nil && restr != nil {
			err = restr.read(br)
		}
		if err == nil {
			breach = restr.breach(r, &old)
			if breach != nil && !opts.AllowOverbooking {
				err = &RestrictedError{Breach: *breach}
			}
		}
		if err == nil {
			err = r.Validate()
		}
		if err == nil {
			err = updateChecks(id, r, &old, opts)
		}
		if err == nil && len(keys) > 0 {
			nights, err = readAdjustInventory(br, keys, delta)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	} else {
		err = total(r)
		if err == nil {
			err = r.Validate()
		}
		if err == nil {
			err = updateChecks(id, r, &old, opts)
		}
	}
	if errors.Is(err, errUnchanged) {
		return unchanged(&old)
	}
	if err != nil {
		return fail(err)
	}

	now := s.now()
	r.Version = old.Version + 1
	r.ModifiedAt = now
	change := canonical.EventReservationModified
	if r.Status == canonical.StatusCancelled {
		change = canonical.EventReservationCancelled
	}
	// The restricted flag follows the stays: set when a change breaks a
	// restriction, cleared when the stays no longer break any.
	if r.HasFlag(canonical.FlagRestricted) && (r.Status == canonical.StatusCancelled || (restr != nil && restr.breach(r, nil) == nil)) {
		r.ClearFlag(canonical.FlagRestricted)
	}
	events := []canonical.Event{newEvent(ctx, change, r.PropertyID, now, r, nil)}
	if r.Status != old.Status {
		events[0].Transition = &canonical.Transition{From: old.Status, To: r.Status}
	}
	if overbooked(nights) && !r.HasFlag(canonical.FlagOverbooked) {
		r.SetFlag(canonical.FlagOverbooked)
		events = append(events, newEvent(ctx, canonical.EventReservationOverbooked, r.PropertyID, now, r, nil))
	}
	if breach != nil && !r.HasFlag(canonical.FlagRestricted) {
		r.SetFlag(canonical.FlagRestricted)
		events = append(events, newEvent(ctx, canonical.EventReservationRestricted, r.PropertyID, now, r, nil))
	}
	events = append(events, availabilityEvent(ctx, r.PropertyID, now, nights)...)
	newDoc, err := json.Marshal(r) // once, for the row, the revision and the events
	if err != nil {
		return fail(err)
	}
	b = &pgx.Batch{}
	b.Queue(`UPDATE reservations SET status = $2, version = $3, arrival = $4, departure = $5, guest_search = $6,
			document = $7, modified_at = $8, channel_revision = coalesce(nullif($9, ''), channel_revision) WHERE id = $1`,
		r.ID, string(r.Status), r.Version, r.Arrival().Time(), r.Departure().Time(), guestSearch(r), newDoc, now, opts.ChannelRevision)
	b.Queue(`INSERT INTO reservation_revisions (reservation_id, version, change, document, created_at)
		VALUES ($1, $2, $3, $4, $5)`, r.ID, r.Version, string(change), newDoc, now)
	if err := queueEventsWithDocument(b, events, r, newDoc); err != nil {
		return fail(err)
	}
	b.Queue("COMMIT") // skipped by PostgreSQL after an error; rolled back below
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return fail(err)
	}
	return r, nil
}

// errUnchanged says that a change, once priced, leaves the reservation as it was.
var errUnchanged = errors.New("unchanged")

// updateChecks are Update's checks of a priced change r of old.
func updateChecks(id string, r, old *canonical.Reservation, opts UpdateOptions) error {
	// A repeat of a change already made (a second cancel, say) is answered
	// as it stands, whatever version the caller saw.
	if reflect.DeepEqual(r, old) {
		return errUnchanged
	}
	if old.Status.Final() && r.Status == old.Status {
		return fmt.Errorf("reservation %s is %s and can no longer change: %w", id, old.Status, ErrInvalidState)
	}
	if opts.IfVersion != 0 && opts.IfVersion != old.Version {
		return fmt.Errorf("reservation %s is at version %d, not %d; fetch it again and reapply your change: %w", id, old.Version, opts.IfVersion, ErrVersionConflict)
	}
	return nil
}

// Cancel cancels a reservation and gives its units back. Cancelling a
// cancelled reservation changes nothing and answers it as it is.
func (s *Store) Cancel(ctx context.Context, scope Scope, id string, opts UpdateOptions) (*canonical.Reservation, error) {
	return s.Update(ctx, scope, id, opts, func(r *canonical.Reservation) error {
		r.Status = canonical.StatusCancelled
		return nil
	})
}
