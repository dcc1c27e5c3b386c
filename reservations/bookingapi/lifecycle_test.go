package bookingapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/bookingapi"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// clock is a settable store clock.
type clock struct{ unix atomic.Int64 }

func (c *clock) set(t time.Time)     { c.unix.Store(t.UnixMicro()) }
func (c *clock) now() time.Time      { return time.UnixMicro(c.unix.Load()) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func newClockedServer(t *testing.T) (client, *clock, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.Pool(t)
	store := reservations.New(pool)
	clk := &clock{}
	clk.set(time.Now())
	store.SetClock(clk.now)
	api, err := bookingapi.New(bookingapi.Config{AdminKey: adminKey}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return client{t: t, base: srv.URL, key: adminKey}, clk, pool
}

// lisbon returns the time at the property (Europe/Lisbon) on day at hour.
func lisbon(t *testing.T, day string, hour int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	d, err := canonical.ParseDate(day)
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, loc)
}

func setStatus(c client, id, status string) response {
	return c.do("PATCH", "/v1/reservations/"+id, map[string]any{"status": status})
}

func allowedOf(t *testing.T, r response) []string {
	t.Helper()
	raw, ok := r.body["allowed"].([]any)
	if !ok {
		t.Fatalf("no allowed list: %s", r.raw)
	}
	out := make([]string, len(raw))
	for i, s := range raw {
		out[i] = s.(string)
	}
	return out
}

// transitions returns the transitions the reservation's events announced, in order.
func transitions(t *testing.T, pool *pgxpool.Pool, id string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT payload FROM outbox WHERE reservation_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var e canonical.Event
		if err := json.Unmarshal(payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.Transition != nil {
			if e.Reservation == nil || e.Reservation.Status != e.Transition.To {
				t.Fatalf("event %s announces %v but carries %+v", e.ID, e.Transition, e.Reservation)
			}
			out = append(out, e.Transition.Name())
		}
	}
	return out
}

// TestLifecycleOverHTTP walks every allowed and refused status change
// through PATCH /v1/reservations/{id}, with the clock at the property
// before, on and after the arrival day.
func TestLifecycleOverHTTP(t *testing.T) {
	c, clk, pool := newClockedServer(t)
	setUpProperty(t, c, "LIS", 5)
	book := func(surname string) string {
		return c.do("POST", "/v1/reservations", bookingBody("LIS", surname)).expect(t, 201, "").body["id"].(string)
	}
	a, b, late := book("Alves"), book("Brito"), book("Lopes")

	// The day before arrival (2027-04-10), late in the evening at the property.
	clk.set(lisbon(t, "2027-04-09", 23))
	for _, to := range []string{"checked_in", "no_show", "checked_out"} {
		r := setStatus(c, a, to).expect(t, 409, "invalid_transition")
		if got := allowedOf(t, r); len(got) != 1 || got[0] != "cancelled" {
			t.Fatalf("%s before arrival: allowed %v", to, got)
		}
	}
	setStatus(c, a, "arrived").expect(t, 422, "validation_failed")

	// Arrival day, just after midnight at the property.
	clk.set(lisbon(t, "2027-04-10", 0))
	r := setStatus(c, a, "checked_out").expect(t, 409, "invalid_transition")
	if got := allowedOf(t, r); len(got) != 3 {
		t.Fatalf("allowed on arrival day: %v", got)
	}
	setStatus(c, a, "no_show").expect(t, 200, "")
	// A no-show gives the rooms back: all five units are free again but for b and late.
	avail := c.do("GET", "/v1/properties/LIS/availability?arrival=2027-04-10&departure=2027-04-12&adults=2", nil).expect(t, 200, "")
	if got := avail.body["offers"].([]any)[0].(map[string]any)["available"]; got != 3.0 {
		t.Fatalf("available after a no-show: %v", got)
	}
	setStatus(c, a, "checked_in").expect(t, 409, "invalid_transition")
	c.do("POST", "/v1/reservations/"+a+"/cancel", nil).expect(t, 409, "invalid_transition")
	c.do("PATCH", "/v1/reservations/"+a, map[string]any{"comments": []string{"x"}}).expect(t, 409, "invalid_state")

	// Undone within the grace period: confirmed again, the rooms taken again.
	clk.add(3 * time.Hour)
	setStatus(c, a, "confirmed").expect(t, 200, "")
	setStatus(c, a, "checked_in").expect(t, 200, "")
	for _, to := range []string{"confirmed", "no_show", "cancelled"} {
		r := setStatus(c, a, to).expect(t, 409, "invalid_transition")
		if got := allowedOf(t, r); len(got) != 1 || got[0] != "checked_out" {
			t.Fatalf("checked_in -> %s: allowed %v", to, got)
		}
	}
	setStatus(c, a, "checked_in").expect(t, 200, "") // a repeat changes nothing
	setStatus(c, a, "checked_out").expect(t, 200, "")
	for _, to := range []string{"confirmed", "checked_in", "no_show", "cancelled"} {
		r := setStatus(c, a, to).expect(t, 409, "invalid_transition")
		if got := allowedOf(t, r); len(got) != 0 {
			t.Fatalf("checked_out -> %s: allowed %v", to, got)
		}
	}
	if got := transitions(t, pool, a); len(got) != 4 || got[0] != "no_show" || got[1] != "undo_no_show" || got[2] != "check_in" || got[3] != "check_out" {
		t.Fatalf("transitions announced: %v", got)
	}

	// A no-show undone too late stays a no-show.
	setStatus(c, b, "no_show").expect(t, 200, "")
	clk.add(25 * time.Hour)
	r = setStatus(c, b, "confirmed").expect(t, 409, "invalid_transition")
	if got := allowedOf(t, r); len(got) != 0 {
		t.Fatalf("no_show after the grace period: allowed %v", got)
	}

	// Past the cut-off (one day after arrival by default), a no-show is refused.
	clk.set(lisbon(t, "2027-04-12", 9))
	r = setStatus(c, late, "no_show").expect(t, 409, "invalid_transition")
	if got := allowedOf(t, r); len(got) != 2 {
		t.Fatalf("allowed after the cut-off: %v", got)
	}
	setStatus(c, late, "checked_in").expect(t, 200, "") // the departure day still takes a late arrival
	if got := transitions(t, pool, late); len(got) != 1 || got[0] != "check_in" {
		t.Fatalf("transitions of a late arrival: %v", got)
	}
}
