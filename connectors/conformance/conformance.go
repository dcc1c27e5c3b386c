// Package conformance is the test suite every Roomwire connector must pass,
// run from the connector's own tests with its declared capabilities and
// fixtures:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, setup) }
//
// It checks that translation matches the golden fixtures and survives a round
// trip, that bad input gives a clear, permanent error and never a panic, that
// partner failures get the right error class (4xx permanent; 5xx, 429 and
// timeouts retryable), that redelivery has exactly one effect on the partner
// and in the reservation store, and that no card number or secret reaches a
// log line or a message. The behavioural checks need PostgreSQL (see
// reservations/pgtest); the calling package's TestMain must run pgtest.Main.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// Fixture is one partner message and, optionally, its expected canonical form.
type Fixture struct {
	Name    string
	Partner []byte
	// Golden is the expected connectors.Message as JSON; received_at is
	// ignored. Empty: the fixture need only translate.
	Golden []byte
}

// Fault is what the partner simulator must do with the next calls.
type Fault struct {
	Status     int  // answer every call with this status; 0: answer normally
	RetryAfter int  // Retry-After seconds, with 429 and 503
	Hang       bool // hang until the client gives up
}

// Harness is a connector running against its partner's simulator.
type Harness struct {
	Connector connectors.Connector
	// SetFault changes how the simulator answers.
	SetFault func(Fault)
	// Effects counts the partner-side effects of outbound calls so far
	// (bookings made): exactly one per event, however often delivered.
	Effects func() int
	// Event returns a reservation event for the outbound side; the suite
	// creates its reservation in the store first when it has a property.
	Event func() canonical.Event
	// Redeliver makes the partner send the same inbound message times times
	// (as duplicate webhooks would) to the connector, delivering to sink.
	Redeliver func(ctx context.Context, sink connectors.Sink, times int) error
	// ARI is what the channel's simulator believes, for a connector that
	// pushes ARI: the suite pushes restrictions and prices by occupancy and
	// reads them back here.
	ARI *channelsim.ARIState
}

// ARICodes are the partner codes of a hotel, room type and rate plan the
// suite pushes ARI in.
type ARICodes struct {
	Hotel, RoomType, RatePlan string
	// NoMinStayThrough: the format has no minimum stay through a night.
	NoMinStayThrough bool
}

// Setup describes a connector to the suite. The behavioural checks start
// the connector as an instance not named after its kind (Resources.Name),
// as a second channel of the same kind would be.
type Setup struct {
	// Name is the connector's registered name.
	Name     string
	Fixtures []Fixture
	// RoundTripIgnore names canonical fields the partner's outbound form
	// cannot carry (property_id, room_type, external_id, status), which the
	// round trip does not compare.
	RoundTripIgnore []string
	// ARI names the partner codes ARI is pushed in, for a connector that
	// pushes ARI.
	ARI ARICodes
	// Mappings are stored before the behavioural checks.
	Mappings []connectors.Mapping
	// Property is created in the store for inbound checks.
	Property reservations.Property
	// Secrets are the configured credentials, which must appear in no log
	// line and no message.
	Secrets []string
	// Start runs the connector against its simulator with res. Nil skips
	// the behavioural checks.
	Start func(t *testing.T, res connectors.Resources) *Harness
	// Gateway runs the payment gateway suite (connectors/payments/paymentstest)
	// for a connector that declares payments; such a connector moves money,
	// not reservations, so it has no translator or fixtures to check.
	Gateway func(t *testing.T)
}

// translates reports whether the connector carries reservations or ARI, and
// so must translate partner messages.
func translates(spec connectors.Spec) bool {
	return spec.Has(connectors.CapReservationsInbound) || spec.Has(connectors.CapReservationsOutbound) ||
		spec.Has(connectors.CapARIInbound) || spec.Has(connectors.CapARIOutbound)
}

// Run runs the suite.
func Run(t *testing.T, s Setup) {
	spec, ok := connectors.Lookup(s.Name)
	if !ok {
		t.Fatalf("connector %q is not registered", s.Name)
	}
	t.Run("Registration", func(t *testing.T) { testRegistration(t, spec) })
	if spec.Has(connectors.CapPayments) {
		if s.Gateway == nil {
			t.Error("the connector declares payments but its test gives no gateway suite (Setup.Gateway)")
		} else {
			t.Run("Gateway", s.Gateway)
		}
	}
	if !translates(spec) {
		return
	}
	t.Run("Fixtures", func(t *testing.T) { testFixtures(t, spec, s) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, spec, s) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, spec, s) })
	if s.Start == nil {
		return
	}
	if spec.Has(connectors.CapReservationsOutbound) {
		t.Run("OutboundErrorClasses", func(t *testing.T) { testOutboundClasses(t, s) })
		t.Run("OutboundRedelivery", func(t *testing.T) { testOutboundRedelivery(t, s) })
	}
	if spec.Has(connectors.CapReservationsInbound) {
		t.Run("InboundRedelivery", func(t *testing.T) { testInboundRedelivery(t, s) })
	}
	if spec.Has(connectors.CapARIOutbound) {
		t.Run("ARIRestrictionsAndOccupancy", func(t *testing.T) { testARIRestrictions(t, s) })
	}
}

// testARIRestrictions pushes every restriction and prices by occupancy, then
// lifts the minimum stay alone: the channel must hold each restriction as
// set, and keep those an update leaves unset.
func testARIRestrictions(t *testing.T, s Setup) {
	e := start(t, s)
	p, ok := e.h.Connector.(connectors.ARIPusher)
	if !ok {
		t.Fatal("declares ari.outbound but is not a connectors.ARIPusher")
	}
	if e.h.ARI == nil {
		t.Fatal("the harness gives no simulator ARI state (Harness.ARI)")
	}
	c := s.ARI
	from, _ := canonical.ParseDate("2027-04-10")
	to := from.AddDays(2)
	set := canonical.Restrictions{StopSell: true, ClosedToArrival: true, ClosedToDeparture: true, MinStay: 3, MinStayThrough: 2, MaxStay: 7}
	if c.NoMinStayThrough {
		set.MinStayThrough = 0
	}
	eur := func(m int64) canonical.Money { return canonical.NewMoney(m, "EUR") }
	rate := canonical.Rate{Price: eur(13000), Occupancy: []canonical.OccupancyPrice{{Adults: 1, Price: eur(10000)}, {Adults: 2, Price: eur(13000)}}}
	ctx := context.Background()
	if err := p.PushARI(ctx, canonical.ARIUpdate{PropertyID: c.Hotel,
		Restrictions: []canonical.RestrictionsUpdate{set.Update(c.RoomType, c.RatePlan, from, to)},
		Rates:        []canonical.RateUpdate{{RoomType: c.RoomType, RatePlan: c.RatePlan, From: from, To: to, Rate: rate}},
	}); err != nil {
		t.Fatalf("push: %v", err)
	}
	for _, d := range canonical.Nights(from, to.AddDays(1)) {
		if got, _ := e.h.ARI.Restriction(c.Hotel, c.RoomType, c.RatePlan, d); got != set {
			t.Errorf("%s: the channel holds %+v, want %+v", d, got, set)
		}
		if got, _ := e.h.ARI.FullRate(c.Hotel, c.RoomType, c.RatePlan, d); !reflect.DeepEqual(got.Occupancy, rate.Occupancy) || got.Price != rate.Price {
			t.Errorf("%s: the channel holds rate %+v, want %+v", d, got, rate)
		}
	}
	lift := 0
	if err := p.PushARI(ctx, canonical.ARIUpdate{PropertyID: c.Hotel, Restrictions: []canonical.RestrictionsUpdate{
		{RoomType: c.RoomType, RatePlan: c.RatePlan, From: from, To: from, MinStay: &lift}}}); err != nil {
		t.Fatalf("push of min_stay alone: %v", err)
	}
	want := set
	want.MinStay = 0
	if got, _ := e.h.ARI.Restriction(c.Hotel, c.RoomType, c.RatePlan, from); got != want {
		t.Errorf("after lifting min_stay alone the channel holds %+v, want %+v", got, want)
	}
}

func testRegistration(t *testing.T, spec connectors.Spec) {
	if spec.Translator == nil && translates(spec) {
		t.Error("the connector registers no translator; roomwire translate and this suite need one")
	}
	if len(spec.Capabilities) == 0 {
		t.Error("the connector declares no capabilities")
	}
	for _, f := range spec.Fields {
		if f.Description == "" {
			t.Errorf("config field %s has no description (its doc tag)", f.Name)
		}
		if canonical.IsSecretName(f.Name) && !f.Secret {
			t.Errorf("config field %s is named as a secret but not marked secret:\"true\"", f.Name)
		}
	}
	if err := connectors.ValidateMappings(spec.DefaultMappings); err != nil {
		t.Errorf("default mappings: %v", err)
	}
}

func translate(t *testing.T, spec connectors.Spec, data []byte) (msg connectors.Message, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("the translator panicked: %v", p)
		}
	}()
	return spec.Translator.ToCanonical(data)
}

// normalize renders a message as comparable JSON, without the receipt time.
func normalize(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if bk, ok := m["booking"].(map[string]any); ok {
		delete(bk, "received_at")
	}
	return m
}

func testFixtures(t *testing.T, spec connectors.Spec, s Setup) {
	if len(s.Fixtures) == 0 {
		t.Fatal("no fixtures: every connector must prove its translation on real partner messages")
	}
	for _, f := range s.Fixtures {
		t.Run(f.Name, func(t *testing.T) {
			msg, err := translate(t, spec, f.Partner)
			if err != nil {
				t.Fatalf("translate: %v", err)
			}
			again, _ := translate(t, spec, f.Partner)
			if !reflect.DeepEqual(normalize(t, msg), normalize(t, again)) {
				t.Error("translating the same message twice gave different results")
			}
			out, _ := json.Marshal(msg)
			if canonical.ContainsCardNumber(string(out)) {
				t.Error("the canonical form holds a card number")
			}
			if len(f.Golden) == 0 {
				return
			}
			var want map[string]any
			if err := json.Unmarshal(f.Golden, &want); err != nil {
				t.Fatalf("golden: %v", err)
			}
			if bk, ok := want["booking"].(map[string]any); ok {
				delete(bk, "received_at")
			}
			if got := normalize(t, msg); !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				t.Errorf("translation differs from the golden file; got:\n%s", g)
			}
		})
	}
}

func testRoundTrip(t *testing.T, spec connectors.Spec, s Setup) {
	for _, f := range s.Fixtures {
		t.Run(f.Name, func(t *testing.T) {
			msg, err := translate(t, spec, f.Partner)
			if err != nil || msg.Booking == nil {
				t.Skip("not a booking")
			}
			partner, err := spec.Translator.FromCanonical(&msg.Booking.Reservation)
			if err != nil {
				t.Fatalf("FromCanonical: %v", err)
			}
			back, err := translate(t, spec, partner)
			if err != nil || back.Booking == nil {
				t.Fatalf("the partner form of the translation does not translate back: %v\n%s", err, partner)
			}
			a, b := project(msg.Booking.Reservation, s.RoundTripIgnore), project(back.Booking.Reservation, s.RoundTripIgnore)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("round trip changed the reservation:\nbefore %+v\nafter  %+v", a, b)
			}
		})
	}
}

// project keeps the facts of a reservation that every partner form carries.
func project(r canonical.Reservation, ignore []string) map[string]any {
	skip := map[string]bool{}
	for _, f := range ignore {
		skip[f] = true
	}
	out := map[string]any{
		"guest": [3]string{r.PrimaryGuest.GivenName, r.PrimaryGuest.Surname, r.PrimaryGuest.Email},
		"total": r.Total.String(),
	}
	for _, f := range []string{"property_id", "external_id", "status"} {
		if !skip[f] {
			out[f] = map[string]string{"property_id": r.PropertyID, "external_id": r.ExternalID, "status": string(r.Status)}[f]
		}
	}
	var stays []string
	for _, st := range r.RoomStays {
		rt := st.RoomType
		if skip["room_type"] {
			rt = ""
		}
		stays = append(stays, fmt.Sprintf("%s %s %s-%s adults=%d children=%v prices=%v", rt, st.RatePlan, st.Arrival, st.Departure, st.Adults, st.ChildrenAges, st.NightlyPrices))
	}
	out["stays"] = stays
	return out
}

func testBadInput(t *testing.T, spec connectors.Spec, s Setup) {
	check := func(t *testing.T, what string, data []byte, mustFail bool) {
		t.Helper()
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s: the translator panicked: %v", what, p)
				}
			}()
			_, err = spec.Translator.ToCanonical(data)
		}()
		if err == nil {
			if mustFail {
				t.Errorf("%s: accepted", what)
			}
			return
		}
		msg := err.Error()
		if msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q is not one clear line", what, msg)
		}
		if canonical.ContainsCardNumber(msg) {
			t.Errorf("%s: the error holds a card number", what)
		}
		if c := connectors.ClassOf(err); c != connectors.ClassPermanent {
			t.Errorf("%s: error class %s, want permanent: %v", what, c, err)
		}
	}
	check(t, "empty input", nil, true)
	check(t, "not JSON", []byte("<xml/>"), true)
	check(t, "an array", []byte("[1,2]"), true)
	check(t, "deep nesting", []byte(strings.Repeat("[", 10000)), true)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range s.Fixtures {
		for cut := 1; cut < len(f.Partner)-1; cut += 1 + len(f.Partner)/40 {
			check(t, fmt.Sprintf("%s truncated at %d", f.Name, cut), f.Partner[:cut], true)
		}
		for i := 0; i < 200; i++ {
			b := bytes.Clone(f.Partner)
			const junk = "{}[]\":,0a- \x00"
			b[rng.IntN(len(b))] = junk[rng.IntN(len(junk))]
			check(t, fmt.Sprintf("%s mutated", f.Name), b, false)
		}
		// Values of the wrong type, where the partner's format has numbers and strings.
		for _, swap := range [][2]string{{`: "`, `: 1`}, {`: 2`, `: "two"`}, {`": [`, `": {`}} {
			if bytes.Contains(f.Partner, []byte(swap[0])) {
				check(t, f.Name+" mistyped", bytes.Replace(f.Partner, []byte(swap[0]), []byte(swap[1]), 1), false)
			}
		}
	}
}

// env is a fresh database, resources with a captured log, and a started harness.
type env struct {
	store *reservations.Store
	res   connectors.Resources
	h     *Harness
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, s Setup) *env {
	t.Helper()
	pool := pgtest.Pool(t)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	spec, _ := connectors.Lookup(s.Name)
	res := connectors.NewResources(pool, logger).ForInstance(instanceName(s), spec)
	ctx := context.Background()
	if len(s.Mappings) > 0 {
		if err := res.Mappings.Replace(ctx, res.Name, s.Mappings); err != nil {
			t.Fatalf("mappings: %v", err)
		}
	}
	store := reservations.New(pool)
	if s.Property.ID != "" {
		if _, err := store.PutProperty(ctx, s.Property); err != nil {
			t.Fatalf("property: %v", err)
		}
	}
	e := &env{store: store, res: res, logs: logs, h: s.Start(t, res)}
	t.Cleanup(func() { checkClean(t, s, "the log", logs.String()) })
	if _, err := connectors.Resolve(res.Name, spec, e.h.Connector); err != nil {
		t.Fatal(err)
	}
	return e
}

// instanceName is the name the behavioural checks run the connector under:
// not its kind's, so that a connector keying its mappings, links, receipts
// or circuit breakers by its kind rather than its instance fails them.
func instanceName(s Setup) string { return s.Name + "-second" }

// checkClean fails when text holds a secret or a card number.
func checkClean(t *testing.T, s Setup, where, text string) {
	t.Helper()
	for _, secret := range s.Secrets {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("%s holds the secret %q", where, secret)
		}
	}
	if s, e, ok := canonical.FindCardNumber(text); ok {
		t.Errorf("%s holds a card number: %q", where, text[max(0, s-80):min(len(text), e+20)])
	}
	if strings.Contains(strings.ToLower(text), "bearer ") && !strings.Contains(text, connectors.Redacted) {
		t.Errorf("%s holds a bearer token", where)
	}
}

func outboundEvent(t *testing.T, e *env) canonical.Event {
	t.Helper()
	ev := e.h.Event()
	if ev.Reservation == nil {
		t.Fatal("Harness.Event returned an event without a reservation")
	}
	return ev
}

func testOutboundClasses(t *testing.T, s Setup) {
	e := start(t, s)
	out, ok := e.h.Connector.(connectors.Outbound)
	if !ok {
		t.Fatal("declares reservations.outbound but is not a connectors.Outbound")
	}
	ev := outboundEvent(t, e)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault Fault
		want  connectors.Class
	}{
		{"400", Fault{Status: 400}, connectors.ClassPermanent},
		{"403", Fault{Status: 403}, connectors.ClassPermanent},
		{"422", Fault{Status: 422}, connectors.ClassPermanent},
		{"429 with Retry-After", Fault{Status: 429, RetryAfter: 3600}, connectors.ClassRetryable},
		{"500", Fault{Status: 500}, connectors.ClassRetryable},
		{"503", Fault{Status: 503}, connectors.ClassRetryable},
		{"timeout", Fault{Hang: true}, connectors.ClassRetryable},
	} {
		e.h.SetFault(tc.fault)
		err := out.HandleEvent(ctx, ev)
		if got := connectors.ClassOf(err); got != tc.want {
			t.Errorf("%s: class %s, want %s (error: %v)", tc.name, got, tc.want, err)
		}
		if err != nil {
			checkClean(t, s, tc.name+" error", err.Error())
		}
	}
	e.h.SetFault(Fault{})
	if err := out.HandleEvent(ctx, ev); err != nil {
		t.Fatalf("with the partner healthy again: %v", err)
	}
	if n := e.h.Effects(); n != 1 {
		t.Errorf("%d partner effects after the failures and one success, want 1", n)
	}
}

func testOutboundRedelivery(t *testing.T, s Setup) {
	e := start(t, s)
	out := e.h.Connector.(connectors.Outbound)
	ev := outboundEvent(t, e)
	for i := 0; i < 3; i++ {
		if err := out.HandleEvent(context.Background(), ev); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	if n := e.h.Effects(); n != 1 {
		t.Errorf("%d partner effects after three deliveries of one event, want 1", n)
	}
}

// recordingSink applies what it receives and keeps it, to check for secrets.
type recordingSink struct {
	inner connectors.Sink
	mu    sync.Mutex
	msgs  []string
}

func (r *recordingSink) Deliver(ctx context.Context, b canonical.ChannelBooking) error {
	j, _ := json.Marshal(b)
	r.mu.Lock()
	r.msgs = append(r.msgs, string(j))
	r.mu.Unlock()
	return r.inner.Deliver(ctx, b)
}

func (r *recordingSink) DeliverARI(ctx context.Context, u canonical.ARIUpdate) error {
	j, _ := json.Marshal(u)
	r.mu.Lock()
	r.msgs = append(r.msgs, string(j))
	r.mu.Unlock()
	return r.inner.DeliverARI(ctx, u)
}

func testInboundRedelivery(t *testing.T, s Setup) {
	e := start(t, s)
	if e.h.Redeliver == nil {
		t.Fatal("declares reservations.inbound but the harness has no Redeliver")
	}
	applier := inbound.NewApplier(e.store, e.res.Mappings, e.res.Links, e.res.Logger)
	sink := &recordingSink{inner: &inbound.DirectSink{Connector: e.res.Name, Applier: applier}}
	if err := e.h.Redeliver(context.Background(), sink, 3); err != nil {
		t.Fatalf("redeliver: %v", err)
	}
	if len(sink.msgs) == 0 {
		t.Fatal("nothing reached the sink")
	}
	page, err := e.store.List(context.Background(), reservations.AllProperties, reservations.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Version != 1 {
		var versions []int
		for _, r := range page.Items {
			versions = append(versions, r.Version)
		}
		t.Errorf("after three deliveries: %d reservations (versions %v), want one at version 1", len(page.Items), versions)
	}
	for _, m := range sink.msgs {
		checkClean(t, s, "a delivered message", m)
	}
}
