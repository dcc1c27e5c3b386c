package bookingapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// Card data written into free text is refused at the door, naming the
// field, and never stored, echoed or published.
func TestCardDataInFreeTextIsRefused(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "OPO", 5)
	id := c.do("POST", "/v1/reservations", bookingBody("OPO", "Silva")).expect(t, http.StatusCreated, "").body["id"].(string)
	for _, tt := range []struct {
		name, field string
		set         func(b map[string]any)
	}{
		{"card number and CVV in a comment", "comments[0]", func(b map[string]any) { b["comments"] = []string{"pay with 4111111111111111 cvv 737"} }},
		{"card number with dots", "comments[0]", func(b map[string]any) { b["comments"] = []string{"card 4111.1111.1111.1111"} }},
		{"full-width digits", "comments[0]", func(b map[string]any) {
			b["comments"] = []string{"４１１１ １１１１ １１１１ １１１１"}
		}},
		{"CVV phrase alone", "comments[0]", func(b map[string]any) { b["comments"] = []string{"CVV 737"} }},
		{"card number in an address", "primary_guest.address.lines[0]", func(b map[string]any) {
			b["primary_guest"].(map[string]any)["address"] = map[string]any{"lines": []string{"4111 1111 1111 1111"}}
		}},
		{"bidi override in a name", "primary_guest.surname", func(b map[string]any) {
			b["primary_guest"].(map[string]any)["surname"] = "Silva\u202Egnp.exe"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := bookingBody("OPO", "Costa")
			tt.set(b)
			r := c.do("POST", "/v1/reservations", b).expect(t, http.StatusUnprocessableEntity, "validation_failed")
			if !strings.Contains(string(r.raw), `"field":"`+tt.field+`"`) {
				t.Fatalf("the problem does not name %s: %s", tt.field, r.raw)
			}
			// The correlation id is random hex, which may hold any digits.
			if e := fmt.Sprint(r.body["errors"], r.body["detail"]); strings.Contains(e, "4111") || strings.Contains(e, "737") {
				t.Fatalf("the problem echoes card data: %s", r.raw)
			}
			patch := map[string]any{}
			if comments, ok := b["comments"]; ok {
				patch["comments"] = comments
				c.do("PATCH", "/v1/reservations/"+id, patch).expect(t, http.StatusUnprocessableEntity, "validation_failed")
			}
		})
	}
	list := c.do("GET", "/v1/reservations?property_id=OPO", nil).expect(t, http.StatusOK, "")
	if strings.Contains(string(list.raw), "4111") || strings.Contains(string(list.raw), "Costa") {
		t.Fatalf("a refused booking was stored: %s", list.raw)
	}
}

// A connector's channel cannot be claimed through the API, and a channel's
// reservation ids are the property's own: a booking at one property never
// collides with, reveals or takes over another property's.
func TestChannelIDsCannotBeClaimed(t *testing.T) {
	admin := newServerWith(t, bookingapi.Config{AdminKey: adminKey, ConnectorChannels: []string{"ota", "apaleo", "bookingcom"}})
	setUpProperty(t, admin, "LIS", 3)
	setUpProperty(t, admin, "OPO", 3)
	created := admin.do("POST", "/v1/api-keys", map[string]any{"name": "porto partner", "properties": []string{"OPO"}}).expect(t, 201, "")
	porto := client{t: t, base: admin.base, key: created.body["key"].(string)}

	for _, channel := range []string{"ota", "OTA", "apaleo", "bookingcom"} {
		b := bookingBody("OPO", "Pereira")
		b["channel"], b["external_id"] = channel, "4105882311"
		r := porto.do("POST", "/v1/reservations", b).expect(t, http.StatusUnprocessableEntity, "validation_failed")
		if !strings.Contains(string(r.raw), `"field":"channel"`) {
			t.Fatalf("channel %s: the problem does not name the channel: %s", channel, r.raw)
		}
	}

	// The same channel id at two properties: two bookings, neither revealing the other.
	lis := bookingBody("LIS", "Silva")
	lis["channel"], lis["external_id"] = "website", "W-1"
	lisID := admin.do("POST", "/v1/reservations", lis).expect(t, http.StatusCreated, "").body["id"].(string)
	opo := bookingBody("OPO", "Pereira")
	opo["channel"], opo["external_id"] = "website", "W-1"
	r := porto.do("POST", "/v1/reservations", opo).expect(t, http.StatusCreated, "")
	if r.body["id"] == lisID || strings.Contains(string(r.raw), "Silva") {
		t.Fatalf("the Porto booking answered with Lisbon's: %s", r.raw)
	}
	if got := admin.do("GET", "/v1/reservations/"+lisID, nil).expect(t, http.StatusOK, ""); got.body["property_id"] != "LIS" {
		t.Fatalf("Lisbon's booking changed: %s", got.raw)
	}
}

// Bytes no handler should see (NUL, invalid UTF-8) in a path id, a query
// parameter or the Idempotency-Key are refused with 400 naming the
// parameter, never passed on to PostgreSQL.
func TestBadBytesAreRefusedNamingTheParameter(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "OPO", 5)
	for _, tt := range []struct {
		method, path string
		headers      []string
		field        string
	}{
		{"GET", "/v1/reservations/%00", nil, "id"},
		{"GET", "/v1/reservations/abc%FF", nil, "id"},
		{"GET", "/v1/reservations/%00/revisions", nil, "id"},
		{"POST", "/v1/reservations/%00/cancel", nil, "id"},
		{"GET", "/v1/properties/OPO%00", nil, "id"},
		{"GET", "/v1/reservations?property_id=%00", nil, "property_id"},
		{"GET", "/v1/reservations?guest=%FF%FE", nil, "guest"},
		{"GET", "/v1/reservations?cursor=a%00b", nil, "cursor"},
		{"GET", "/v1/properties/OPO/availability?arrival=2027-04-10%00&departure=2027-04-12", nil, "arrival"},
		{"POST", "/v1/reservations", []string{"Idempotency-Key", "key-\xff\xfe"}, "Idempotency-Key"},
	} {
		r := c.do(tt.method, tt.path, bookingBody("OPO", "Silva"), tt.headers...).expect(t, http.StatusBadRequest, "bad_request")
		if !strings.Contains(string(r.raw), `"field":"`+tt.field+`"`) {
			t.Errorf("%s %s: the problem does not name %s: %s", tt.method, tt.path, tt.field, r.raw)
		}
	}
}

// A revoked key stops working at once on the instance that revoked it,
// even though it was just used and cached.
func TestRevokedKeyStopsAtOnce(t *testing.T) {
	admin := newServer(t)
	setUpProperty(t, admin, "OPO", 1)
	created := admin.do("POST", "/v1/api-keys", map[string]any{"name": "porto", "properties": []string{"OPO"}}).expect(t, 201, "")
	porto := client{t: t, base: admin.base, key: created.body["key"].(string)}
	porto.do("GET", "/v1/reservations", nil).expect(t, http.StatusOK, "")
	admin.do("DELETE", "/v1/api-keys/"+created.body["id"].(string), nil).expect(t, http.StatusNoContent, "")
	porto.do("GET", "/v1/reservations", nil).expect(t, http.StatusUnauthorized, "unauthorized")
}

func TestPatchWithUnknownStatusIsUnprocessable(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "OPO", 5)
	id := c.do("POST", "/v1/reservations", bookingBody("OPO", "Silva")).expect(t, http.StatusCreated, "").body["id"].(string)
	r := c.do("PATCH", "/v1/reservations/"+id, map[string]any{"status": "bogus"}).expect(t, http.StatusUnprocessableEntity, "validation_failed")
	if !strings.Contains(string(r.raw), `"field":"status"`) {
		t.Fatalf("%s", r.raw)
	}
}

// An impossible or malformed date is reported on its own field, on every
// endpoint that takes dates in its body, never on the body as a whole.
func TestImpossibleDatesNameTheirField(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "OPO", 5)
	id := c.do("POST", "/v1/reservations", bookingBody("OPO", "Silva")).expect(t, http.StatusCreated, "").body["id"].(string)
	stays := func(arrival, departure string) []map[string]any {
		return []map[string]any{
			{"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-10", "departure": "2027-04-12", "adults": 1},
			{"room_type": "DBL", "rate_plan": "FLEX", "arrival": arrival, "departure": departure, "adults": 1},
		}
	}
	create := bookingBody("OPO", "Costa")
	create["room_stays"] = stays("2027-02-30", "2027-04-31")
	for _, tt := range []struct {
		name, method, path string
		body               any
		fields             []string
	}{
		{"create", "POST", "/v1/reservations", create, []string{"room_stays[1].arrival", "room_stays[1].departure"}},
		{"create, not a date", "POST", "/v1/reservations", map[string]any{"property_id": "OPO", "room_stays": []map[string]any{{"arrival": "10/04/2027", "departure": "2027-04-12"}}},
			[]string{"room_stays[0].arrival"}},
		{"modify", "PATCH", "/v1/reservations/" + id, map[string]any{"room_stays": stays("2027-04-10", "2027-13-01")}, []string{"room_stays[1].departure"}},
		{"rates", "PUT", "/v1/properties/OPO/rates", map[string]any{"updates": []map[string]any{
			{"rate_plan": "FLEX", "from": "2027-04-01", "to": "2027-04-02", "amount": "1.00", "currency": "EUR"},
			{"rate_plan": "FLEX", "from": "2027-02-29", "to": "2027-03-02", "amount": "1.00", "currency": "EUR"}}},
			[]string{"updates[1].from"}},
		{"inventory", "PUT", "/v1/properties/OPO/inventory", map[string]any{"updates": []map[string]any{
			{"room_type": "DBL", "from": "2027-04-01", "to": "2027-04-31", "units": 3}}}, []string{"updates[0].to"}},
		{"restrictions", "PUT", "/v1/properties/OPO/restrictions", map[string]any{"updates": []map[string]any{
			{"rate_plan": "FLEX", "from": "2027-06-31", "to": "2027-07-01", "stop_sell": true, "days": []string{"mon"}}}}, []string{"updates[0].from"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.method == "PATCH" {
				headers = []string{"If-Match", `"1"`}
			}
			r := c.do(tt.method, tt.path, tt.body, headers...).expect(t, http.StatusUnprocessableEntity, "validation_failed")
			for _, f := range tt.fields {
				if !strings.Contains(string(r.raw), `"field":"`+f+`"`) {
					t.Errorf("the problem does not name %s: %s", f, r.raw)
				}
			}
			if strings.Contains(string(r.raw), `"field":"body"`) {
				t.Errorf("the problem blames the whole body: %s", r.raw)
			}
		})
	}
}

// A body of the wrong shape is described in JSON's terms, naming the field,
// never in Go's (its types, its decoder).
func TestBodyErrorsSpeakJSON(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "OPO", 5)
	for _, tt := range []struct {
		name, body, field, want string
	}{
		{"a list for the body", `[]`, "body", "must be an object, not a list"},
		{"a string for the guarantee", `{"property_id": "OPO", "guarantee": "card"}`, "guarantee", "must be an object, not a string"},
		{"a fraction of an adult", `{"property_id": "OPO", "room_stays": [{"adults": 1.5}]}`, "room_stays.adults", "must be a whole number, not 1.5"},
		{"a number for a date", `{"property_id": "OPO", "room_stays": [{"arrival": 20270410}]}`, "room_stays.arrival", "must be a string, not a number"},
		{"a string for the comments", `{"property_id": "OPO", "comments": "late"}`, "comments", "must be a list, not a string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do("POST", "/v1/reservations", tt.body).expect(t, http.StatusUnprocessableEntity, "validation_failed")
			if !strings.Contains(string(r.raw), `"field":"`+tt.field+`"`) || !strings.Contains(string(r.raw), tt.want) {
				t.Fatalf("want field %s and %q: %s", tt.field, tt.want, r.raw)
			}
			for _, goText := range []string{"json", "ptr", "map[", "Go ", "bookingapi.", "canonical.", "[]"} {
				if strings.Contains(strings.ReplaceAll(string(r.raw), "application/problem+json", ""), goText) {
					t.Fatalf("the problem speaks Go (%q): %s", goText, r.raw)
				}
			}
		})
	}
}

// A booking of several rooms says who stays in which; a position that is no
// guest of the reservation is refused on its field.
func TestRoomGuestsOverHTTP(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "OPO", 5)
	b := bookingBody("OPO", "Silva")
	b["additional_guests"] = []map[string]any{{"given_name": "Rui", "surname": "Costa"}}
	b["room_stays"] = []map[string]any{
		{"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-10", "departure": "2027-04-12", "adults": 1, "guests": []int{1}},
		{"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-10", "departure": "2027-04-12", "adults": 1, "guests": []int{0}},
	}
	r := c.do("POST", "/v1/reservations", b).expect(t, http.StatusCreated, "")
	stays := r.body["room_stays"].([]any)
	if fmt.Sprint(stays[0].(map[string]any)["guests"], stays[1].(map[string]any)["guests"]) != "[1] [0]" {
		t.Fatalf("room guests not kept: %s", r.raw)
	}
	// Leaving the room guests out of a change of the same stays keeps them.
	id := r.body["id"].(string)
	b["room_stays"] = []map[string]any{
		{"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-10", "departure": "2027-04-12", "adults": 2},
		{"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-10", "departure": "2027-04-12", "adults": 1},
	}
	r = c.do("PATCH", "/v1/reservations/"+id, map[string]any{"room_stays": b["room_stays"]}, "If-Match", `"1"`).expect(t, http.StatusOK, "")
	stays = r.body["room_stays"].([]any)
	if fmt.Sprint(stays[0].(map[string]any)["guests"], stays[1].(map[string]any)["guests"]) != "[1] [0]" {
		t.Fatalf("room guests lost by a change of guest counts: %s", r.raw)
	}
	b["room_stays"] = []map[string]any{{"room_type": "DBL", "rate_plan": "FLEX", "arrival": "2027-04-10", "departure": "2027-04-12", "adults": 1, "guests": []int{2}}}
	r = c.do("POST", "/v1/reservations", b).expect(t, http.StatusUnprocessableEntity, "validation_failed")
	if !strings.Contains(string(r.raw), `"field":"room_stays[0].guests[0]"`) {
		t.Fatalf("the problem does not name the room's guest: %s", r.raw)
	}
}
