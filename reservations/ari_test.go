package reservations_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

func yes() *bool        { v := true; return &v }
func no() *bool         { v := false; return &v }
func nights(n int) *int { return &n }

func restrict(t *testing.T, s *reservations.Store, changes ...reservations.RestrictionChange) {
	t.Helper()
	if err := s.PutRestrictions(context.Background(), reservations.AllProperties, "LIS", changes); err != nil {
		t.Fatal(err)
	}
}

func change(plan, from, to string, set func(*canonical.RestrictionsUpdate)) reservations.RestrictionChange {
	c := reservations.RestrictionChange{RestrictionsUpdate: canonical.RestrictionsUpdate{RoomType: "DBL", RatePlan: plan, From: date(from), To: date(to)}}
	set(&c.RestrictionsUpdate)
	return c
}

func TestRestrictionsAreSetOneByOne(t *testing.T) {
	s := newStore(t, 3)
	ctx := context.Background()
	restrict(t, s, change("FLEX", "2027-04-10", "2027-04-12", func(u *canonical.RestrictionsUpdate) { u.StopSell = yes() }))
	restrict(t, s, change("", "2027-04-11", "2027-04-11", func(u *canonical.RestrictionsUpdate) { u.MinStay = nights(3) }))
	got, err := s.Restrictions(ctx, reservations.AllProperties, "LIS", date("2027-04-01"), date("2027-04-30"))
	if err != nil {
		t.Fatal(err)
	}
	// Naming only min_stay left the stop sell of 2027-04-11 as it was.
	want := []canonical.RestrictionsUpdate{
		canonical.Restrictions{StopSell: true}.Update("DBL", "FLEX", date("2027-04-10"), date("2027-04-10")),
		canonical.Restrictions{StopSell: true, MinStay: 3}.Update("DBL", "FLEX", date("2027-04-11"), date("2027-04-11")),
		canonical.Restrictions{StopSell: true}.Update("DBL", "FLEX", date("2027-04-12"), date("2027-04-12")),
	}
	if a, b := mustJSON(got), mustJSON(want); a != b {
		t.Fatalf("restrictions\n got %s\nwant %s", a, b)
	}
	var events []canonical.Event
	rows, _ := s.Pool().Query(ctx, `SELECT payload FROM outbox WHERE event_type = 'restrictions.changed' ORDER BY id`)
	for rows.Next() {
		var e canonical.Event
		var b []byte
		rows.Scan(&b)
		json.Unmarshal(b, &e)
		events = append(events, e)
	}
	if len(events) != 2 || events[1].Type.Topic() != canonical.TopicAvailabilityEvents {
		t.Fatalf("events = %+v", events)
	}
	// The event carries the whole state of the nights it changed.
	if r := events[1].ARI.Restrictions; len(r) != 1 || *r[0].StopSell != true || *r[0].MinStay != 3 {
		t.Fatalf("second event = %s", mustJSON(events[1].ARI))
	}
	for _, bad := range []reservations.RestrictionChange{
		change("FLEX", "2027-04-10", "2027-04-10", func(*canonical.RestrictionsUpdate) {}),
		change("NOPE", "2027-04-10", "2027-04-10", func(u *canonical.RestrictionsUpdate) { u.StopSell = yes() }),
		change("FLEX", "2027-04-10", "2027-04-09", func(u *canonical.RestrictionsUpdate) { u.StopSell = yes() }),
		change("FLEX", "2027-04-10", "2027-04-10", func(u *canonical.RestrictionsUpdate) { u.MinStay = nights(-1) }),
	} {
		var v canonical.ValidationError
		if err := s.PutRestrictions(ctx, reservations.AllProperties, "LIS", []reservations.RestrictionChange{bad}); !errors.As(err, &v) {
			t.Errorf("%+v: %v, want a validation error", bad, err)
		}
	}
}

func TestDirectBookingsRespectRestrictions(t *testing.T) {
	s := newStore(t, 3)
	ctx := context.Background()
	restrict(t, s,
		change("FLEX", "2027-04-10", "2027-04-10", func(u *canonical.RestrictionsUpdate) { u.StopSell = yes() }),
		change("FLEX", "2027-05-01", "2027-05-01", func(u *canonical.RestrictionsUpdate) { u.MinStay = nights(3) }),
		change("FLEX", "2027-05-10", "2027-05-10", func(u *canonical.RestrictionsUpdate) { u.ClosedToArrival = yes() }),
		change("FLEX", "2027-05-21", "2027-05-21", func(u *canonical.RestrictionsUpdate) { u.ClosedToDeparture = yes() }),
		change("FLEX", "2027-06-01", "2027-06-01", func(u *canonical.RestrictionsUpdate) { u.MaxStay = nights(2) }),
		change("FLEX", "2027-06-11", "2027-06-11", func(u *canonical.RestrictionsUpdate) { u.MinStayThrough = nights(4) }),
	)
	for _, c := range []struct {
		arrival, departure, rule string
	}{
		{"2027-04-09", "2027-04-11", canonical.RuleStopSell},
		{"2027-04-11", "2027-04-12", ""},
		{"2027-05-01", "2027-05-03", canonical.RuleMinStay},
		{"2027-05-01", "2027-05-04", ""},
		{"2027-05-10", "2027-05-12", canonical.RuleClosedToArrival},
		{"2027-05-19", "2027-05-21", canonical.RuleClosedToDeparture},
		{"2027-06-01", "2027-06-04", canonical.RuleMaxStay},
		{"2027-06-10", "2027-06-13", canonical.RuleMinStayThrough},
		{"2027-06-10", "2027-06-14", ""},
	} {
		_, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("", stay("DBL", "FLEX", c.arrival, c.departure))})
		var re *reservations.RestrictedError
		switch {
		case c.rule == "" && err != nil:
			t.Errorf("%s to %s: %v", c.arrival, c.departure, err)
		case c.rule != "" && (!errors.As(err, &re) || re.Breach.Rule != c.rule || !errors.Is(err, reservations.ErrRestricted)):
			t.Errorf("%s to %s: %v, want %s", c.arrival, c.departure, err, c.rule)
		}
		offers, err := s.Availability(ctx, reservations.AllProperties, reservations.AvailabilityQuery{
			PropertyID: "LIS", Arrival: date(c.arrival), Departure: date(c.departure), Adults: 1, IncludeRestricted: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range offers {
			if o.RatePlan == "FLEX" && ((o.Restricted == nil) != (c.rule == "") || (o.Restricted != nil && o.Restricted.Rule != c.rule)) {
				t.Errorf("search %s to %s: restricted %+v, want %q", c.arrival, c.departure, o.Restricted, c.rule)
			}
		}
	}
	// Without include_restricted, the closed offer is left out.
	offers, _ := s.Availability(ctx, reservations.AllProperties, reservations.AvailabilityQuery{PropertyID: "LIS", Arrival: date("2027-04-10"), Departure: date("2027-04-11"), Adults: 1})
	for _, o := range offers {
		if o.RatePlan == "FLEX" {
			t.Fatalf("stop-sell night offered: %+v", o)
		}
	}
}

func TestChannelBookingBreakingARestrictionIsFlaggedThenCleared(t *testing.T) {
	s := newStore(t, 3)
	ctx := context.Background()
	restrict(t, s, change("FLEX", "2027-04-10", "2027-04-10", func(u *canonical.RestrictionsUpdate) { u.MinStay = nights(3) }))
	ota := booking("OTA-1")
	ota.Channel = "ota"
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: ota, AllowOverbooking: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reservation.HasFlag(canonical.FlagRestricted) {
		t.Fatalf("flags = %v", res.Reservation.Flags)
	}
	var n int
	s.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE event_type = 'reservation.restricted'`).Scan(&n)
	if n != 1 {
		t.Fatalf("restricted events = %d", n)
	}
	page, err := s.List(ctx, reservations.AllProperties, reservations.Filter{Flag: canonical.FlagRestricted})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != res.Reservation.ID {
		t.Fatalf("flag=restricted: %+v %v", page.Items, err)
	}
	if page, _ := s.List(ctx, reservations.AllProperties, reservations.Filter{Flag: canonical.FlagOverbooked}); len(page.Items) != 0 {
		t.Fatalf("flag=overbooked: %d", len(page.Items))
	}
	// The cause remains: the flag stays.
	if _, err := s.ClearFlag(ctx, reservations.AllProperties, res.Reservation.ID, canonical.FlagRestricted); !errors.Is(err, reservations.ErrInvalidState) {
		t.Fatalf("clear with the cause: %v", err)
	}
	restrict(t, s, change("FLEX", "2027-04-10", "2027-04-10", func(u *canonical.RestrictionsUpdate) { u.MinStay = nights(0) }))
	cleared, err := s.ClearFlag(ctx, reservations.AllProperties, res.Reservation.ID, canonical.FlagRestricted)
	if err != nil || cleared.HasFlag(canonical.FlagRestricted) || cleared.Version != 2 {
		t.Fatalf("clear: %+v %v", cleared, err)
	}
}

func TestOverbookedFlagIsClearedOnceNoNightIsOversold(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	first, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")})
	if err != nil {
		t.Fatal(err)
	}
	ota := booking("BDC-9")
	ota.Channel = "bookingcom"
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: ota, AllowOverbooking: true})
	if err != nil || !res.Reservation.HasFlag(canonical.FlagOverbooked) {
		t.Fatalf("%+v %v", res.Reservation, err)
	}
	if _, err := s.ClearFlag(ctx, reservations.AllProperties, res.Reservation.ID, canonical.FlagOverbooked); !errors.Is(err, reservations.ErrInvalidState) {
		t.Fatalf("clear while oversold: %v", err)
	}
	if _, err := s.Cancel(ctx, reservations.AllProperties, first.Reservation.ID, reservations.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cleared, err := s.ClearFlag(ctx, reservations.AllProperties, res.Reservation.ID, canonical.FlagOverbooked)
	if err != nil || cleared.HasFlag(canonical.FlagOverbooked) {
		t.Fatalf("clear: %+v %v", cleared, err)
	}
}

func TestOccupancyPricesAndDerivedPlans(t *testing.T) {
	s := newStore(t, 3)
	ctx := context.Background()
	if _, err := s.PutProperty(ctx, reservations.Property{
		ID: "LIS", Name: "Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
		RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 3}, {Code: "SGL", Name: "Single", Units: 3, MaxOccupancy: 1}},
		RatePlans: []reservations.RatePlan{
			{Code: "FLEX", RoomType: "DBL", Name: "Flexible"},
			{Code: "NR", RoomType: "DBL", Name: "Non-refundable", Derived: &canonical.Derivation{Parent: "FLEX", Percent: "-10", InheritRestrictions: true}},
			{Code: "SGL-FLEX", RoomType: "SGL", Name: "Single flexible"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	eur := func(m int64) canonical.Money { return canonical.NewMoney(m, "EUR") }
	// The derived plan took its parent's existing prices at once.
	rates, err := s.Rates(ctx, reservations.AllProperties, "LIS", date("2027-04-10"), date("2027-04-10"))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(rates); got != mustJSON([]canonical.RateUpdate{
		{RatePlan: "FLEX", RoomType: "DBL", From: date("2027-04-10"), To: date("2027-04-10"), Rate: canonical.Rate{Price: eur(12000)}},
		{RatePlan: "NR", RoomType: "DBL", From: date("2027-04-10"), To: date("2027-04-10"), Rate: canonical.Rate{Price: eur(10800)}},
		{RatePlan: "SGL-FLEX", RoomType: "SGL", From: date("2027-04-10"), To: date("2027-04-10"), Rate: canonical.Rate{Price: eur(9000)}},
	}) {
		t.Fatalf("rates %s", got)
	}
	occ := canonical.Rate{Price: eur(13000), Occupancy: []canonical.OccupancyPrice{{Adults: 1, Price: eur(10000)}, {Adults: 2, Price: eur(13000)}},
		ExtraAdult: eur(2500), ExtraChild: eur(1500)}
	if err := s.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{{RatePlan: "FLEX", From: date("2027-04-01"), To: date("2027-04-30"), Rate: occ}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{{RatePlan: "NR", From: date("2027-04-01"), To: date("2027-04-30"), Rate: occ}}); err == nil {
		t.Fatal("a derived plan's own rates were set")
	}
	total := func(plan string, adults, children int) int64 {
		offers, err := s.Availability(ctx, reservations.AllProperties, reservations.AvailabilityQuery{PropertyID: "LIS",
			Arrival: date("2027-04-10"), Departure: date("2027-04-12"), Adults: adults, Children: children})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range offers {
			if o.RatePlan == plan {
				return o.Total.Minor
			}
		}
		t.Fatalf("no offer of %s", plan)
		return 0
	}
	for _, c := range []struct {
		plan             string
		adults, children int
		want             int64
	}{
		{"FLEX", 1, 0, 20000}, {"FLEX", 2, 0, 26000}, {"FLEX", 3, 0, 31000}, {"FLEX", 2, 1, 29000},
		{"NR", 1, 0, 18000}, {"NR", 2, 0, 23400}, {"NR", 2, 1, 26100},
	} {
		if got := total(c.plan, c.adults, c.children); got != c.want {
			t.Errorf("%s for %d adults %d children: %d, want %d", c.plan, c.adults, c.children, got, c.want)
		}
	}
	// A booking is priced as the search was.
	st := stay("DBL", "NR", "2027-04-10", "2027-04-12")
	st.Adults = 2
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("", st)})
	if err != nil || res.Reservation.Total != eur(23400) {
		t.Fatalf("booking %+v %v", res.Reservation, err)
	}
	// The derived plan inherits its parent's restrictions.
	restrict(t, s, change("FLEX", "2027-04-20", "2027-04-20", func(u *canonical.RestrictionsUpdate) { u.StopSell = yes() }))
	_, err = s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("", stay("DBL", "NR", "2027-04-20", "2027-04-21"))})
	if !errors.Is(err, reservations.ErrRestricted) {
		t.Fatalf("booking the derived plan on its parent's stop sell: %v", err)
	}
	if err := s.PutRestrictions(ctx, reservations.AllProperties, "LIS", []reservations.RestrictionChange{
		change("NR", "2027-04-20", "2027-04-20", func(u *canonical.RestrictionsUpdate) { u.StopSell = no() })}); err == nil {
		t.Fatal("an inheriting plan's own restrictions were set")
	}
}

func TestChannelRulesTellOneChannel(t *testing.T) {
	s := newStore(t, 5)
	ctx := context.Background()
	max2 := 2
	rules := canonical.ChannelRules{{RoomType: "DBL", MaxAvailability: &max2}, {Offset: 1}}
	if err := s.PutChannelRules(ctx, reservations.AllProperties, "LIS", "ota", rules); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChannelRules(ctx, reservations.AllProperties, "LIS", "ota")
	if err != nil || mustJSON(got) != mustJSON(rules) {
		t.Fatalf("rules %s %v", mustJSON(got), err)
	}
	if n := got.Available("DBL", 5); n != 1 { // at most 2, less 1 held back
		t.Errorf("DBL with 5 left: %d", n)
	}
	if n := got.Available("SGL", 5); n != 4 {
		t.Errorf("SGL with 5 left: %d", n)
	}
	var e canonical.Event
	var b []byte
	if err := s.Pool().QueryRow(ctx, `SELECT payload FROM outbox WHERE event_type = 'availability.changed' ORDER BY id DESC LIMIT 1`).Scan(&b); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &e)
	if e.ARI.Channel != "ota" || len(e.ARI.Availability) == 0 {
		t.Fatalf("event %s", b)
	}
	if err := s.PutChannelRules(ctx, reservations.AllProperties, "LIS", "ota", canonical.ChannelRules{{RoomType: "NOPE", Closed: true}}); err == nil {
		t.Fatal("a rule for an unknown room type was kept")
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestPartnerARICountsUnitsSoldAndIsOneTransaction(t *testing.T) {
	s := newStore(t, 5)
	ctx := context.Background()
	if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")}); err != nil {
		t.Fatal(err)
	}
	// The partner says 3 are left on the nights Roomwire sold one of (10th
	// and 11th) and the night after: 4 may be sold in all on the first two.
	err := s.ApplyPartnerARI(ctx, canonical.ARIUpdate{PropertyID: "LIS",
		Availability: []canonical.AvailabilityUpdate{{RoomType: "DBL", From: date("2027-04-10"), To: date("2027-04-12"), Available: 3}},
		Rates:        []canonical.RateUpdate{{RatePlan: "FLEX", From: date("2027-04-10"), To: date("2027-04-12"), Rate: canonical.Rate{Price: canonical.NewMoney(15000, "EUR")}}},
		// A partner may name the rate plan alone.
		Restrictions: []canonical.RestrictionsUpdate{{RatePlan: "FLEX", From: date("2027-04-12"), To: date("2027-04-12"), StopSell: yes()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ARISnapshot(ctx, reservations.AllProperties, "LIS", reservations.ARIQuery{
		Availability: []reservations.ARIRange{{RoomType: "DBL", From: date("2027-04-10"), To: date("2027-04-12")}},
		Restrictions: []reservations.ARIRange{{RatePlan: "FLEX", From: date("2027-04-10"), To: date("2027-04-12")}},
		Rates:        []reservations.ARIRange{{RatePlan: "FLEX", From: date("2027-04-12"), To: date("2027-04-12")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Availability) != 3 {
		t.Fatalf("availability = %+v", got.Availability)
	}
	for _, n := range got.Availability {
		if n.Available != 3 {
			t.Errorf("%s: %d left, want the partner's 3", n.Night, n.Available)
		}
	}
	if got := unitsSold(t, s, "DBL", "2027-04-10"); got != 1 {
		t.Fatalf("units sold = %d", got)
	}
	if len(got.Restrictions) != 1 || !got.Restrictions[0].StopSell || got.Restrictions[0].RoomType != "DBL" {
		t.Fatalf("restrictions = %+v", got.Restrictions)
	}
	if len(got.Rates) != 1 || got.Rates[0].Rate.Price.Minor != 15000 || got.Rates[0].Night != date("2027-04-12") {
		t.Fatalf("rates = %+v", got.Rates)
	}
	if got.Rules != nil {
		t.Fatalf("rules read with no channel asked: %+v", got.Rules)
	}
	// A channel's rules come with the rest; a channel with none has none.
	one := 1
	if err := s.PutChannelRules(ctx, reservations.AllProperties, "LIS", "expedia", canonical.ChannelRules{{RoomType: "DBL", MaxAvailability: &one}}); err != nil {
		t.Fatal(err)
	}
	for channel, want := range map[string]int{"expedia": 1, "ota": 0} {
		got, err := s.ARISnapshot(ctx, reservations.AllProperties, "LIS", reservations.ARIQuery{Channel: channel,
			Availability: []reservations.ARIRange{{RoomType: "DBL", From: date("2027-04-10"), To: date("2027-04-10")}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Rules) != want || len(got.Availability) != 1 {
			t.Fatalf("%s: rules %+v, availability %+v", channel, got.Rules, got.Availability)
		}
	}

	// One bad entry refuses the whole message, naming it: nothing is half-applied.
	err = s.ApplyPartnerARI(ctx, canonical.ARIUpdate{PropertyID: "LIS",
		Availability: []canonical.AvailabilityUpdate{{RoomType: "DBL", From: date("2027-04-10"), To: date("2027-04-10"), Available: 0}},
		Rates:        []canonical.RateUpdate{{RatePlan: "NOPE", From: date("2027-04-10"), To: date("2027-04-10"), Rate: canonical.Rate{Price: canonical.NewMoney(1, "EUR")}}},
	})
	var v canonical.ValidationError
	if !errors.As(err, &v) || v[0].Field != "rates[0].rate_plan" {
		t.Fatalf("bad rate plan: %v", err)
	}
	if got := availableOn(t, s, "DBL", "2027-04-10", "2027-04-11"); got != 3 {
		t.Fatalf("available after a refused message = %d, want 3", got)
	}
	if _, err := s.ARISnapshot(ctx, reservations.AllProperties, "NOPE", reservations.ARIQuery{}); !errors.Is(err, reservations.ErrNotFound) {
		t.Fatalf("snapshot of an unknown property: %v", err)
	}
}

func TestARISnapshotReadsExactlyTheNightsAsked(t *testing.T) {
	s := newStore(t, 5)
	ctx := context.Background()
	if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")}); err != nil {
		t.Fatal(err)
	}
	// Ranges far apart, one for every room type, and one overlapping it:
	// each room type and night once, nothing between the ranges.
	got, err := s.ARISnapshot(ctx, reservations.AllProperties, "LIS", reservations.ARIQuery{Availability: []reservations.ARIRange{
		{RoomType: "DBL", From: date("2027-04-10"), To: date("2027-04-10")},
		{From: date("2027-04-11"), To: date("2027-04-11")},
		{RoomType: "DBL", From: date("2027-04-11"), To: date("2027-04-11")},
		{RoomType: "DBL", From: date("2027-09-01"), To: date("2027-09-01")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]int{}
	for _, n := range got.Availability {
		k := n.RoomType + " " + n.Night.String()
		if _, twice := left[k]; twice {
			t.Fatalf("%s listed twice: %+v", k, got.Availability)
		}
		left[k] = n.Available
	}
	want := map[string]int{"DBL 2027-04-10": 4, "DBL 2027-04-11": 4, "SGL 2027-04-11": 5, "DBL 2027-09-01": 5}
	if mustJSON(left) != mustJSON(want) {
		t.Fatalf("availability = %v, want %v", left, want)
	}
}
