package reservations_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func date(s string) canonical.Date {
	d, err := canonical.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// newStore returns a store on a fresh database with property LIS: room type
// DBL with units rooms, rate plan FLEX at 120.00 EUR a night through 2027.
func newStore(t testing.TB, units int) *reservations.Store {
	t.Helper()
	s := reservations.New(pgtest.Pool(t))
	ctx := context.Background()
	if _, err := s.PutProperty(ctx, reservations.Property{
		ID: "LIS", Name: "Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
		RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: units}, {Code: "SGL", Name: "Single", Units: units, MaxOccupancy: 1}},
		RatePlans: []reservations.RatePlan{{Code: "FLEX", RoomType: "DBL", Name: "Flexible"}, {Code: "SGL-FLEX", RoomType: "SGL", Name: "Single flexible"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{
		{RatePlan: "FLEX", From: date("2027-01-01"), To: date("2027-12-31"), Rate: canonical.Rate{Price: canonical.NewMoney(12000, "EUR")}},
		{RatePlan: "SGL-FLEX", From: date("2027-01-01"), To: date("2027-12-31"), Rate: canonical.Rate{Price: canonical.NewMoney(9000, "EUR")}},
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func booking(external string, stays ...canonical.RoomStay) canonical.Reservation {
	if len(stays) == 0 {
		stays = []canonical.RoomStay{stay("DBL", "FLEX", "2027-04-10", "2027-04-12")}
	}
	return canonical.Reservation{
		PropertyID:   "LIS",
		Channel:      "direct",
		ExternalID:   external,
		PrimaryGuest: canonical.Guest{GivenName: "Marta", Surname: "Silva", Email: "marta@example.com"},
		RoomStays:    stays,
	}
}

func stay(roomType, ratePlan, arrival, departure string) canonical.RoomStay {
	return canonical.RoomStay{RoomType: roomType, RatePlan: ratePlan, Arrival: date(arrival), Departure: date(departure), Adults: 1}
}

func availableOn(t *testing.T, s *reservations.Store, roomType, arrival, departure string) int {
	t.Helper()
	offers, err := s.Availability(context.Background(), reservations.AllProperties, reservations.AvailabilityQuery{
		PropertyID: "LIS", Arrival: date(arrival), Departure: date(departure), Adults: 1, IncludeSoldOut: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offers {
		if o.RoomType == roomType {
			return o.Available
		}
	}
	t.Fatalf("no offer for %s", roomType)
	return 0
}

func unitsSold(t *testing.T, s *reservations.Store, roomType, night string) int {
	t.Helper()
	var sold int
	err := s.Pool().QueryRow(context.Background(), `SELECT coalesce(sum(units_sold), 0) FROM inventory WHERE room_type = $1 AND night = $2`,
		roomType, date(night).Time()).Scan(&sold)
	if err != nil {
		t.Fatal(err)
	}
	return sold
}

func TestConcurrentBookingsForLastUnitsNeverOverbook(t *testing.T) {
	s := newStore(t, 7)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking(fmt.Sprintf("c-%d", i))})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				results["confirmed"]++
			case errors.Is(err, reservations.ErrNoAvailability):
				results["no_availability"]++
			default:
				results[err.Error()]++
			}
		}(i)
	}
	wg.Wait()
	if results["confirmed"] != 7 || results["no_availability"] != 93 || len(results) != 2 {
		t.Fatalf("results = %v, want 7 confirmed and 93 no_availability", results)
	}
	for _, night := range []string{"2027-04-10", "2027-04-11"} {
		if got := unitsSold(t, s, "DBL", night); got != 7 {
			t.Errorf("units sold on %s = %d, want 7", night, got)
		}
	}
	if got := availableOn(t, s, "DBL", "2027-04-10", "2027-04-12"); got != 0 {
		t.Errorf("available = %d, want 0", got)
	}
}

func TestCreatePricesTheStayAndWritesEvents(t *testing.T) {
	s := newStore(t, 3)
	ctx := context.Background()
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Reservation
	if r.Total != canonical.NewMoney(24000, "EUR") || r.Status != canonical.StatusConfirmed || r.Version != 1 {
		t.Fatalf("total %v status %s version %d", r.Total, r.Status, r.Version)
	}
	if len(r.ConfirmationNumber) != 10 || len(r.RoomStays[0].NightlyPrices) != 2 {
		t.Fatalf("confirmation %q, prices %v", r.ConfirmationNumber, r.RoomStays[0].NightlyPrices)
	}
	var types []string
	rows, err := s.Pool().Query(ctx, `SELECT event_type FROM outbox WHERE event_type <> 'rates.changed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ty string
		rows.Scan(&ty)
		types = append(types, ty)
	}
	if fmt.Sprint(types) != "[reservation.created availability.changed]" {
		t.Fatalf("outbox = %v", types)
	}
	got, err := s.Get(ctx, reservations.AllProperties, r.ConfirmationNumber)
	if err != nil || got.ID != r.ID {
		t.Fatalf("get by confirmation number: %v %v", got, err)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	s := newStore(t, 3)
	ctx := context.Background()
	req := reservations.CreateRequest{Reservation: booking(""), IdempotencyKey: "k1", Principal: "p"}
	first, err := s.Create(ctx, reservations.AllProperties, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Create(ctx, reservations.AllProperties, req)
	if err != nil || !again.Replayed || again.Reservation.ID != first.Reservation.ID {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	other := req
	other.Reservation.PrimaryGuest.Surname = "Santos"
	if _, err := s.Create(ctx, reservations.AllProperties, other); !errors.Is(err, reservations.ErrIdempotencyConflict) {
		t.Fatalf("same key, other body: %v", err)
	}
	// Another caller may use the same key for its own booking.
	other.Principal = "q"
	if res, err := s.Create(ctx, reservations.AllProperties, other); err != nil || res.Replayed {
		t.Fatalf("other principal: %+v %v", res, err)
	}
	if got := unitsSold(t, s, "DBL", "2027-04-10"); got != 2 {
		t.Fatalf("units sold = %d, want 2", got)
	}

	// By channel and external id, also under concurrency.
	var wg sync.WaitGroup
	ids := make([]string, 10)
	errs := make([]error, 10)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("BDC-1")})
			errs[i] = err
			if err == nil {
				ids[i] = res.Reservation.ID
			}
		}(i)
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("concurrent create %d: id %s err %v, want %s", i, ids[i], errs[i], ids[0])
		}
	}
	if got := unitsSold(t, s, "DBL", "2027-04-10"); got != 3 {
		t.Fatalf("units sold = %d, want 3", got)
	}
	changed := booking("BDC-1")
	changed.PrimaryGuest.Surname = "Other"
	if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: changed}); !errors.Is(err, reservations.ErrIdempotencyConflict) {
		t.Fatalf("same external id, other body: %v", err)
	}
}

func TestModifyMovesInventory(t *testing.T) {
	s := newStore(t, 2)
	ctx := context.Background()
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Reservation.ID

	tests := []struct {
		name      string
		stay      canonical.RoomStay
		wantSold  map[string]int // "room night" -> units sold
		wantTotal int64
	}{
		{"extend by a night", stay("DBL", "FLEX", "2027-04-10", "2027-04-13"),
			map[string]int{"DBL 2027-04-10": 1, "DBL 2027-04-12": 1, "DBL 2027-04-13": 0}, 36000},
		{"move dates", stay("DBL", "FLEX", "2027-04-20", "2027-04-21"),
			map[string]int{"DBL 2027-04-10": 0, "DBL 2027-04-12": 0, "DBL 2027-04-20": 1}, 12000},
		{"change room type", stay("SGL", "SGL-FLEX", "2027-04-20", "2027-04-22"),
			map[string]int{"DBL 2027-04-20": 0, "SGL 2027-04-20": 1, "SGL 2027-04-21": 1}, 18000},
	}
	version := 1
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.Update(ctx, reservations.AllProperties, id, reservations.UpdateOptions{IfVersion: version}, func(r *canonical.Reservation) error {
				r.RoomStays = []canonical.RoomStay{tt.stay}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			version++
			if r.Version != version || r.Total.Minor != tt.wantTotal {
				t.Fatalf("version %d total %v, want %d and %d", r.Version, r.Total, version, tt.wantTotal)
			}
			for k, want := range tt.wantSold {
				var room, night string
				fmt.Sscan(k, &room, &night)
				if got := unitsSold(t, s, room, night); got != want {
					t.Errorf("%s sold = %d, want %d", k, got, want)
				}
			}
		})
	}

	// A stale version is refused and changes nothing.
	_, err = s.Update(ctx, reservations.AllProperties, id, reservations.UpdateOptions{IfVersion: 1}, func(r *canonical.Reservation) error {
		r.Comments = []string{"late"}
		return nil
	})
	if !errors.Is(err, reservations.ErrVersionConflict) {
		t.Fatalf("stale version: %v", err)
	}

	// Moving onto a sold-out night is refused and keeps what was held.
	other, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("", stay("DBL", "FLEX", "2027-05-01", "2027-05-02"), stay("DBL", "FLEX", "2027-05-01", "2027-05-02"))})
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	_, err = s.Update(ctx, reservations.AllProperties, id, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
		r.RoomStays = []canonical.RoomStay{stay("DBL", "FLEX", "2027-04-30", "2027-05-02")}
		return nil
	})
	if !errors.Is(err, reservations.ErrNoAvailability) {
		t.Fatalf("move onto a sold-out night: %v", err)
	}
	if got := unitsSold(t, s, "SGL", "2027-04-20"); got != 1 {
		t.Fatalf("failed move released SGL: sold %d", got)
	}
	if got := unitsSold(t, s, "DBL", "2027-04-30"); got != 0 {
		t.Fatalf("failed move took DBL 04-30: sold %d", got)
	}
	revs, err := s.Revisions(ctx, reservations.AllProperties, id)
	if err != nil || len(revs) != 4 {
		t.Fatalf("revisions = %d, %v; want 4", len(revs), err)
	}
}

func TestCancelRestoresInventoryAndIsIdempotent(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")}); !errors.Is(err, reservations.ErrNoAvailability) {
		t.Fatalf("second booking of the only unit: %v", err)
	}
	for i := 0; i < 2; i++ {
		r, err := s.Cancel(ctx, reservations.AllProperties, res.Reservation.ID, reservations.UpdateOptions{IfVersion: 1})
		if err != nil || r.Status != canonical.StatusCancelled || r.Version != 2 {
			t.Fatalf("cancel #%d: %+v %v", i+1, r, err)
		}
	}
	if got := unitsSold(t, s, "DBL", "2027-04-10"); got != 0 {
		t.Fatalf("units sold after cancel = %d", got)
	}
	if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")}); err != nil {
		t.Fatalf("booking the freed unit: %v", err)
	}
	_, err = s.Update(ctx, reservations.AllProperties, res.Reservation.ID, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
		r.Status = canonical.StatusConfirmed
		return nil
	})
	if !errors.Is(err, reservations.ErrInvalidState) {
		t.Fatalf("reviving a cancelled reservation: %v", err)
	}
}

func TestChannelBookingWithoutAvailabilityIsKeptAndFlagged(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")}); err != nil {
		t.Fatal(err)
	}
	ota := booking("BDC-77")
	ota.Channel = "bookingcom"
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: ota, AllowOverbooking: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reservation.HasFlag(canonical.FlagOverbooked) {
		t.Fatalf("flags = %v", res.Reservation.Flags)
	}
	if got := unitsSold(t, s, "DBL", "2027-04-10"); got != 2 {
		t.Fatalf("units sold = %d, want 2", got)
	}
	var n int
	s.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE event_type = 'reservation.overbooked'`).Scan(&n)
	if n != 1 {
		t.Fatalf("overbooked events = %d", n)
	}
	// Direct bookings still get nothing.
	if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")}); !errors.Is(err, reservations.ErrNoAvailability) {
		t.Fatalf("direct booking on an oversold night: %v", err)
	}
	if got := availableOn(t, s, "DBL", "2027-04-10", "2027-04-11"); got != 0 {
		t.Fatalf("available = %d", got)
	}
}

func TestValidationNamesFields(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	bad := booking("", stay("DBL", "NOPE", "2027-04-12", "2027-04-10"), stay("XXL", "FLEX", "2027-04-10", "2027-04-11"))
	bad.RoomStays[0].Adults = 0
	_, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: bad})
	var v canonical.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v", err)
	}
	fields := map[string]bool{}
	for _, fe := range v {
		fields[fe.Field] = true
	}
	for _, want := range []string{"room_stays[0].rate_plan", "room_stays[0].departure", "room_stays[0].adults", "room_stays[1].room_type"} {
		if !fields[want] {
			t.Errorf("no problem reported for %s in %v", want, v)
		}
	}
}

func TestScopeHidesOtherProperties(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")})
	if err != nil {
		t.Fatal(err)
	}
	other := reservations.Scope{Properties: []string{"OPO"}}
	if _, err := s.Get(ctx, other, res.Reservation.ID); !errors.Is(err, reservations.ErrNotFound) {
		t.Fatalf("get outside scope: %v", err)
	}
	if _, err := s.Cancel(ctx, other, res.Reservation.ID, reservations.UpdateOptions{}); !errors.Is(err, reservations.ErrNotFound) {
		t.Fatalf("cancel outside scope: %v", err)
	}
	if _, err := s.Create(ctx, other, reservations.CreateRequest{Reservation: booking("")}); !errors.Is(err, reservations.ErrForbidden) {
		t.Fatalf("create outside scope: %v", err)
	}
	page, err := s.List(ctx, other, reservations.Filter{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("list outside scope: %d items, %v", len(page.Items), err)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	s := newStore(t, 10)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		b := booking(fmt.Sprintf("E%d", i))
		b.PrimaryGuest.Surname = []string{"Silva", "Santos", "Silva", "Müller", "Silva"}[i]
		if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: b}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := s.List(ctx, reservations.AllProperties, reservations.Filter{Guest: "SILVA", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			seen = append(seen, r.ExternalID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(seen) != "[E4 E2 E0]" {
		t.Fatalf("guest silva, newest first = %v", seen)
	}
	page, err := s.List(ctx, reservations.AllProperties, reservations.Filter{Guest: "müller"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("non-ASCII search: %d, %v", len(page.Items), err)
	}
	if _, err := s.List(ctx, reservations.AllProperties, reservations.Filter{Cursor: "garbage"}); !errors.Is(err, reservations.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestInventoryOverridesRoomTypeUnits(t *testing.T) {
	s := newStore(t, 5)
	ctx := context.Background()
	err := s.PutInventory(ctx, reservations.AllProperties, "LIS", []reservations.InventoryUpdate{{RoomType: "DBL", From: date("2027-04-11"), To: date("2027-04-11"), Units: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := availableOn(t, s, "DBL", "2027-04-10", "2027-04-12"); got != 1 {
		t.Fatalf("available = %d, want 1 (the fullest night)", got)
	}
	if got := availableOn(t, s, "DBL", "2027-04-12", "2027-04-13"); got != 5 {
		t.Fatalf("available = %d, want 5", got)
	}
	err = s.PutInventory(ctx, reservations.AllProperties, "LIS", []reservations.InventoryUpdate{{RoomType: "NOPE", From: date("2027-04-12"), To: date("2027-04-11"), Units: -1}})
	var v canonical.ValidationError
	if !errors.As(err, &v) || len(v) != 3 {
		t.Fatalf("bad update: %v", err)
	}
}

func TestCreateKeepsGuaranteeAndComments(t *testing.T) {
	s := newStore(t, 1)
	b := booking("")
	b.Guarantee = &canonical.Guarantee{Type: "card", CardToken: "tok_8Kq2ZpW4vR", CardMask: "4111XXXXXXXX1111"}
	b.Comments = []string{"Late arrival"}
	res, err := s.Create(context.Background(), reservations.AllProperties, reservations.CreateRequest{Reservation: b})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(context.Background(), reservations.AllProperties, res.Reservation.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Guarantee == nil || got.Guarantee.CardToken != "tok_8Kq2ZpW4vR" || len(got.Comments) != 1 {
		t.Fatalf("stored %+v, comments %v", got.Guarantee, got.Comments)
	}
}

func TestFinalReservationsDoNotChange(t *testing.T) {
	s := newStore(t, 1)
	ctx := context.Background()
	res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Reservation.ID
	s.SetClock(func() time.Time { return time.Date(2027, 4, 10, 15, 0, 0, 0, time.UTC) }) // the arrival day
	setStatus := func(st canonical.Status) error {
		_, err := s.Update(ctx, reservations.AllProperties, id, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
			r.Status = st
			return nil
		})
		return err
	}
	if err := setStatus(canonical.StatusCheckedIn); err != nil {
		t.Fatal(err)
	}
	if err := setStatus(canonical.StatusCancelled); !errors.Is(err, reservations.ErrInvalidState) {
		t.Fatalf("cancel a checked-in stay: %v", err)
	}
	if err := setStatus(canonical.StatusCheckedOut); err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(ctx, reservations.AllProperties, id, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
		r.Comments = []string{"after the stay"}
		return nil
	})
	if !errors.Is(err, reservations.ErrInvalidState) {
		t.Fatalf("change a checked-out reservation: %v", err)
	}
	// The stay was lived: checking out keeps the nights sold.
	if got := unitsSold(t, s, "DBL", "2027-04-10"); got != 1 {
		t.Fatalf("units sold after check-out = %d", got)
	}
}

// Each change holds one connection only, so a small pool never deadlocks
// under concurrent changes.
func TestConcurrentChangesOnATinyPool(t *testing.T) {
	s := reservations.New(pgtest.PoolWithSize(t, 2))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := s.PutProperty(ctx, reservations.Property{
		ID: "LIS", Name: "Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
		RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 50}},
		RatePlans: []reservations.RatePlan{{Code: "FLEX", RoomType: "DBL", Name: "Flexible"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRates(ctx, reservations.AllProperties, "LIS", []reservations.RateUpdate{
		{RatePlan: "FLEX", From: date("2027-01-01"), To: date("2027-12-31"), Rate: canonical.Rate{Price: canonical.NewMoney(12000, "EUR")}},
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: booking("")})
			if err != nil {
				errs <- err
				return
			}
			_, err = s.Update(ctx, reservations.AllProperties, res.Reservation.ID, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
				r.RoomStays = []canonical.RoomStay{stay("DBL", "FLEX", "2027-05-01", fmt.Sprintf("2027-05-%02d", 2+i))}
				return nil
			})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
