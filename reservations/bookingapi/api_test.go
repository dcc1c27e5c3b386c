package bookingapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/bookingapi"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const adminKey = "test-admin-key-0123456789"

type client struct {
	t    testing.TB
	base string
	key  string
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (c client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &out.body)
	return out
}

func (r response) expect(t testing.TB, status int, code string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if code != "" && r.body["code"] != code {
		t.Fatalf("code %v, want %s: %s", r.body["code"], code, r.raw)
	}
	if status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("content type %q for an error", r.header.Get("Content-Type"))
	}
	return r
}

func newServer(t testing.TB) client {
	t.Helper()
	return newServerWith(t, bookingapi.Config{AdminKey: adminKey})
}

func newServerWith(t testing.TB, cfg bookingapi.Config) client {
	t.Helper()
	store := reservations.New(pgtest.Pool(t))
	api, err := bookingapi.New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return client{t: t, base: srv.URL, key: adminKey}
}

func setUpProperty(t testing.TB, c client, id string, units int) {
	t.Helper()
	c.do("PUT", "/v1/properties/"+id, map[string]any{
		"name": "Hotel " + id, "timezone": "Europe/Lisbon", "currency": "EUR",
		"room_types": []map[string]any{{"code": "DBL", "name": "Double", "units": units}},
		"rate_plans": []map[string]any{{"code": "FLEX", "room_type": "DBL", "name": "Flexible"}},
	}).expect(t, http.StatusCreated, "")
	c.do("PUT", "/v1/properties/"+id+"/rates", map[string]any{"updates": []map[string]any{
		{"rate_plan": "FLEX", "from": "2027-04-01", "to": "2027-04-30", "amount": "143.00", "currency": "EUR"},
	}}).expect(t, http.StatusOK, "")
}

func bookingBody(property, surname string) map[string]any {
	return map[string]any{
		"property_id":   property,
		"channel":       "direct",
		"primary_guest": map[string]any{"given_name": "Marta", "surname": surname, "email": "marta@example.com"},
		"room_stays": []map[string]any{{
			"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-10", "departure": "2027-04-12", "adults": 2, "children_ages": []int{7},
		}},
	}
}

func TestBookingLifecycleOverHTTP(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "LIS", 3)

	// Search.
	avail := c.do("GET", "/v1/properties/LIS/availability?arrival=2027-04-10&departure=2027-04-12&adults=2", nil).expect(t, 200, "")
	offers := avail.body["offers"].([]any)
	if len(offers) != 1 {
		t.Fatalf("offers = %v", offers)
	}
	offer := offers[0].(map[string]any)
	if offer["available"] != 3.0 || offer["total"].(map[string]any)["amount"] != "286.00" {
		t.Fatalf("offer = %v", offer)
	}

	// Five concurrent creates for three units.
	var wg sync.WaitGroup
	statuses := make([]int, 5)
	codes := make([]string, 5)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := c.do("POST", "/v1/reservations", bookingBody("LIS", fmt.Sprintf("Guest%d", i)), "Idempotency-Key", fmt.Sprintf("k-%d", i))
			statuses[i] = r.status
			codes[i], _ = r.body["code"].(string)
		}(i)
	}
	wg.Wait()
	sort.Ints(statuses)
	if fmt.Sprint(statuses) != "[201 201 201 409 409]" {
		t.Fatalf("statuses = %v (%v)", statuses, codes)
	}
	for i, s := range statuses {
		_ = s
		if codes[i] != "" && codes[i] != "no_availability" {
			t.Fatalf("code = %s", codes[i])
		}
	}

	// Idempotency: cancel one to free a unit, then replay.
	list := c.do("GET", "/v1/reservations?property_id=LIS&guest=guest", nil).expect(t, 200, "")
	items := list.body["items"].([]any)
	if len(items) != 3 {
		t.Fatalf("search by guest found %d", len(items))
	}
	first := items[0].(map[string]any)
	id := first["id"].(string)

	cancel1 := c.do("POST", "/v1/reservations/"+id+"/cancel", nil).expect(t, 200, "")
	cancel2 := c.do("POST", "/v1/reservations/"+id+"/cancel", nil).expect(t, 200, "")
	if cancel1.body["status"] != "cancelled" || cancel2.body["status"] != "cancelled" || cancel2.body["version"] != 2.0 {
		t.Fatalf("cancel: %s / %s", cancel1.raw, cancel2.raw)
	}

	created := c.do("POST", "/v1/reservations", bookingBody("LIS", "Costa"), "Idempotency-Key", "same").expect(t, 201, "")
	if created.body["total"].(map[string]any)["amount"] != "286.00" || created.header.Get("ETag") != `"1"` {
		t.Fatalf("created: %s %v", created.raw, created.header)
	}
	replay := c.do("POST", "/v1/reservations", bookingBody("LIS", "Costa"), "Idempotency-Key", "same").expect(t, 201, "")
	if replay.body["id"] != created.body["id"] || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay answered %s", replay.raw)
	}
	c.do("POST", "/v1/reservations", bookingBody("LIS", "Other"), "Idempotency-Key", "same").expect(t, 422, "idempotency_conflict")

	// View.
	newID := created.body["id"].(string)
	view := c.do("GET", "/v1/reservations/"+newID, nil).expect(t, 200, "")
	if view.body["confirmation_number"] != created.body["confirmation_number"] {
		t.Fatalf("view: %s", view.raw)
	}

	// Modify with the current version, then with a stale one.
	patch := map[string]any{"comments": []string{"Late arrival"}}
	mod := c.do("PATCH", "/v1/reservations/"+newID, patch, "If-Match", `"1"`).expect(t, 200, "")
	if mod.body["version"] != 2.0 {
		t.Fatalf("modified: %s", mod.raw)
	}
	c.do("PATCH", "/v1/reservations/"+newID, map[string]any{"comments": []string{"x"}}, "If-Match", `"1"`).expect(t, 412, "version_conflict")

	// Sold out again: a new booking is refused.
	c.do("POST", "/v1/reservations", bookingBody("LIS", "Late"), "Idempotency-Key", "late").expect(t, 409, "no_availability")

	// Extending the stay re-checks inventory and re-prices.
	stays := map[string]any{"room_stays": []map[string]any{{
		"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-10", "departure": "2027-04-13", "adults": 2,
	}}}
	ext := c.do("PATCH", "/v1/reservations/"+newID, stays, "If-Match", `"2"`).expect(t, 200, "")
	if ext.body["total"].(map[string]any)["amount"] != "429.00" {
		t.Fatalf("extended: %s", ext.raw)
	}
}

func TestValidationAndErrorsOverHTTP(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "LIS", 3)

	bad := bookingBody("LIS", "")
	bad["room_stays"] = []map[string]any{{"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-12", "departure": "2027-04-10", "adults": 0}}
	r := c.do("POST", "/v1/reservations", bad).expect(t, 422, "validation_failed")
	fields := map[string]bool{}
	for _, e := range r.body["errors"].([]any) {
		fields[e.(map[string]any)["field"].(string)] = true
	}
	for _, want := range []string{"room_stays[0].departure", "room_stays[0].adults", "primary_guest.surname"} {
		if !fields[want] {
			t.Errorf("no error for %s: %s", want, r.raw)
		}
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"truncated JSON", "POST", "/v1/reservations", `{"property_id": "LIS"`, 400, "bad_request"},
		{"unknown field", "POST", "/v1/reservations", `{"property_id": "LIS", "price": 1}`, 422, "validation_failed"},
		{"wrong type", "POST", "/v1/reservations", `{"property_id": 7}`, 422, "validation_failed"},
		{"impossible date", "POST", "/v1/reservations", `{"room_stays": [{"arrival": "2027-02-30"}]}`, 422, "validation_failed"},
		{"trailing data", "POST", "/v1/reservations", `{} {}`, 400, "bad_request"},
		{"too large", "POST", "/v1/reservations", `{"comments": ["` + strings.Repeat("x", 2<<20) + `"]}`, 413, "payload_too_large"},
		{"float amount", "PUT", "/v1/properties/LIS/rates", `{"updates": [{"rate_plan": "FLEX", "from": "2027-04-01", "to": "2027-04-02", "amount": 1.5, "currency": "EUR"}]}`, 422, "validation_failed"},
		{"unknown currency", "PUT", "/v1/properties/LIS/rates", `{"updates": [{"rate_plan": "FLEX", "from": "2027-04-01", "to": "2027-04-02", "amount": "1.50", "currency": "XYZ"}]}`, 422, "validation_failed"},
		{"unknown reservation", "GET", "/v1/reservations/0190b8a0-0000-7000-8000-000000000000", nil, 404, "not_found"},
		{"bad cursor", "GET", "/v1/reservations?cursor=zzz", nil, 400, "bad_request"},
		{"bad availability query", "GET", "/v1/properties/LIS/availability?arrival=2027-04-12&departure=2027-04-10", nil, 422, "validation_failed"},
		{"bad If-Match", "PATCH", "/v1/reservations/RWXXXXXXXX", `{}`, 422, "validation_failed"},
		{"no such endpoint", "GET", "/v2/nothing", nil, 404, "not_found"},
		{"wrong method", "DELETE", "/v1/reservations", nil, 405, "method_not_allowed"},
		{"modify by an id that is no reservation", "PATCH", "/v1/reservations/not-a-uuid", `{}`, 404, "not_found"},
		{"revisions by an id that is no reservation", "GET", "/v1/reservations/RW00000000/revisions", nil, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{}
			if tt.name == "bad If-Match" {
				headers = []string{"If-Match", "yesterday"}
			}
			c.do(tt.method, tt.path, tt.body, headers...).expect(t, tt.status, tt.code)
		})
	}
}

func TestAPIKeysAreScopedToProperties(t *testing.T) {
	admin := newServer(t)
	setUpProperty(t, admin, "LIS", 3)
	setUpProperty(t, admin, "OPO", 3)

	lisRes := admin.do("POST", "/v1/reservations", bookingBody("LIS", "Silva")).expect(t, 201, "")
	lisID := lisRes.body["id"].(string)

	created := admin.do("POST", "/v1/api-keys", map[string]any{"name": "porto partner", "properties": []string{"OPO"}}).expect(t, 201, "")
	secret := created.body["key"].(string)
	porto := client{t: t, base: admin.base, key: secret}

	porto.do("GET", "/v1/reservations/"+lisID, nil).expect(t, 404, "not_found")
	porto.do("POST", "/v1/reservations/"+lisID+"/cancel", nil).expect(t, 404, "not_found")
	porto.do("PATCH", "/v1/reservations/"+lisID, map[string]any{"comments": []string{"x"}}).expect(t, 404, "not_found")
	porto.do("POST", "/v1/reservations", bookingBody("LIS", "Silva")).expect(t, 403, "forbidden")
	porto.do("GET", "/v1/properties/LIS/availability?arrival=2027-04-10&departure=2027-04-11", nil).expect(t, 404, "not_found")
	porto.do("POST", "/v1/api-keys", map[string]any{"name": "x", "properties": []string{"LIS"}}).expect(t, 403, "forbidden")
	if list := porto.do("GET", "/v1/reservations", nil).expect(t, 200, ""); len(list.body["items"].([]any)) != 0 {
		t.Fatalf("scoped list shows %s", list.raw)
	}

	own := porto.do("POST", "/v1/reservations", bookingBody("OPO", "Pereira")).expect(t, 201, "")
	porto.do("GET", "/v1/reservations/"+own.body["id"].(string), nil).expect(t, 200, "")

	for _, key := range []string{"", "wrong", secret + "x"} {
		client{t: t, base: admin.base, key: key}.do("GET", "/v1/reservations", nil).expect(t, 401, "unauthorized")
	}
	admin.do("DELETE", "/v1/api-keys/"+created.body["id"].(string), nil).expect(t, 204, "")
	admin.do("GET", "/healthz", nil).expect(t, 200, "")
	admin.do("GET", "/readyz", nil).expect(t, 200, "")
}

// BenchmarkCreateOverHTTP books through the API over real HTTP, from many
// goroutines, with an idempotency key per booking.
func BenchmarkCreateOverHTTP(b *testing.B) {
	c := newServer(b)
	for p := 0; p < 20; p++ {
		setUpProperty(b, c, fmt.Sprintf("P%02d", p), 10000)
	}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := bookingBody(fmt.Sprintf("P%02d", i%20), "Bench")
			body["room_stays"].([]map[string]any)[0]["arrival"] = fmt.Sprintf("2027-04-%02d", 1+i%27)
			body["room_stays"].([]map[string]any)[0]["departure"] = fmt.Sprintf("2027-04-%02d", 3+i%27)
			r := c.do("POST", "/v1/reservations", body, "Idempotency-Key", fmt.Sprintf("bench-%d", i))
			if r.status != http.StatusCreated {
				b.Fatalf("status %d: %s", r.status, r.raw)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
}
