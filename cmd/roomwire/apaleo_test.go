package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// Bookings made through the API reach simulated Apaleo exactly once, with
// amendments and cancellations following, while Apaleo fails 30% of calls
// and repeats its webhooks; a booking Apaleo refuses (422) is dead-lettered
// with Apaleo's words and delivered once by a replay after the fix.
func TestBookingsReachApaleoOnceThroughServe(t *testing.T) {
	p, sim := serveWithApaleo(t, "breaker_failures: 50", "NRF")

	// inApaleo returns the simulated Apaleo's reservations for a confirmation
	// number, and how many bookings its idempotency key made.
	inApaleo := func(id, confirmation string) ([]*apaleo.Reservation, int) {
		var found []*apaleo.Reservation
		for _, r := range sim.Reservations() {
			if r.ExternalCode == confirmation {
				found = append(found, r)
			}
		}
		return found, sim.BookingsWithKey(apaleo.IdempotencyKey(id))
	}
	book := func(ratePlan string) (id, confirmation string) {
		code, body := p.json(t, "POST", "/v1/reservations", `{"property_id": "LIS", "primary_guest": {"given_name": "Marta", "surname": "Silva"},
			"room_stays": [{"room_type": "DBL", "rate_plan": "`+ratePlan+`", "arrival": "2027-04-10", "departure": "2027-04-12", "adults": 2}]}`)
		if code != 201 {
			t.Fatalf("book: %d %v", code, body)
		}
		return body["id"].(string), body["confirmation_number"].(string)
	}

	// With 30% of Apaleo's answers failing (half after the booking is made)
	// and every webhook sent twice.
	sim.SetFaults(apaleosim.Faults{ErrorRate: 0.3, DuplicateWebhooks: 1})
	id, confirmation := book("FLEX")
	eventually(t, "the booking is in Apaleo", func() bool { found, _ := inApaleo(id, confirmation); return len(found) > 0 })
	found, keys := inApaleo(id, confirmation)
	if len(found) != 1 || keys != 1 {
		t.Fatalf("in Apaleo %d times, %d bookings with its key", len(found), keys)
	}
	if code, body := p.json(t, "PATCH", "/v1/reservations/"+id, `{"room_stays": [{"room_type": "DBL", "rate_plan": "FLEX",
		"arrival": "2027-04-10", "departure": "2027-04-13", "adults": 2}]}`); code != 200 {
		t.Fatalf("amend: %d %v", code, body)
	}
	eventually(t, "the amendment follows", func() bool {
		found, _ := inApaleo(id, confirmation)
		return len(found) == 1 && strings.HasPrefix(found[0].Departure, "2027-04-13")
	})
	if code, body := p.json(t, "POST", "/v1/reservations/"+id+"/cancel", ""); code != 200 {
		t.Fatalf("cancel: %d %v", code, body)
	}
	eventually(t, "the cancellation follows", func() bool {
		found, _ := inApaleo(id, confirmation)
		return len(found) == 1 && found[0].Status == apaleo.StatusCanceled
	})
	// Apaleo's own webhooks for these changes, sent twice, created nothing in Roomwire.
	if _, body := p.json(t, "GET", "/v1/reservations?channel=apaleo", ""); len(body["items"].([]any)) != 0 {
		t.Fatalf("Apaleo's echoes became reservations: %v", body["items"])
	}

	// Apaleo refuses the non-refundable plan, as if it were not set up there.
	sim.SetFaults(apaleosim.Faults{RejectRatePlans: []string{"LIS-NRF-DBL"}})
	id, confirmation = book("NRF")
	var listing string
	eventually(t, "the refused booking is dead-lettered with Apaleo's words", func() bool {
		listing, _ = runCLI(t, p, "dlq", "list", "--reason", "permanent")
		return strings.Contains(listing, "outbound.apaleo")
	})
	dlqID := strings.Fields(strings.Split(strings.TrimSpace(listing), "\n")[1])[0]
	if shown, err := runCLI(t, p, "dlq", "show", dlqID); err != nil || !strings.Contains(shown, "Combination of RatePlan 'LIS-NRF-DBL'") {
		t.Fatalf("the dead letter does not carry Apaleo's text: %v\n%s", err, shown)
	}

	// The rate plan is set up in Apaleo; two replays book it once.
	sim.SetFaults(apaleosim.Faults{})
	for i := 0; i < 2; i++ {
		if out, err := runCLI(t, p, "dlq", "replay", dlqID); err != nil && i == 0 {
			t.Fatalf("replay: %v\n%s", err, out)
		}
	}
	eventually(t, "the replayed booking is in Apaleo", func() bool { found, _ := inApaleo(id, confirmation); return len(found) > 0 })
	eventually(t, "the dead letter is resolved", func() bool {
		out, _ := runCLI(t, p, "dlq", "list", "--status", "resolved")
		return strings.Contains(out, "outbound.apaleo")
	})
	found, keys = inApaleo(id, confirmation)
	if len(found) != 1 || keys != 1 {
		t.Fatalf("after two replays: in Apaleo %d times, %d bookings with its key", len(found), keys)
	}
}

// serveWithApaleo starts serve with the Apaleo connector against a simulated
// Apaleo selling property LIS's unit group LIS-DBL (Roomwire's DBL, 5 units)
// at rate plan LIS-FLEX-DBL (FLEX, 120.00 EUR) and each of ratePlans
// (LIS-<code>-DBL, 100.00 EUR), with these tests' quick retries plus the
// backbone settings given.
func serveWithApaleo(t *testing.T, backbone string, ratePlans ...string) (*process, *apaleosim.Sim) {
	t.Helper()
	sim := apaleosim.New(apaleosim.Config{ClientID: "roomwire-test", ClientSecret: "apaleo-secret-123"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.AddUnitGroup(apaleosim.UnitGroup{ID: "LIS-DBL", Property: "LIS", Units: 20})
	plans := map[string]int64{"FLEX": 12000}
	mappings := "apaleo:\n  - {kind: property, partner: LIS, roomwire: LIS}\n  - {kind: room_type, property: LIS, partner: LIS-DBL, roomwire: DBL}\n"
	property := `{"code": "FLEX", "room_type": "DBL", "name": "Flexible"}`
	rates := `{"rate_plan": "FLEX", "from": "2027-04-01", "to": "2027-04-30", "amount": "120.00", "currency": "EUR"}`
	for _, code := range ratePlans {
		plans[code] = 10000
		property += fmt.Sprintf(`, {"code": %q, "room_type": "DBL", "name": %q}`, code, code)
		rates += fmt.Sprintf(`, {"rate_plan": %q, "from": "2027-04-01", "to": "2027-04-30", "amount": "100.00", "currency": "EUR"}`, code)
	}
	for code, price := range plans {
		id := "LIS-" + code + "-DBL"
		sim.AddRatePlan(apaleosim.RatePlan{ID: id, Property: "LIS", UnitGroup: "LIS-DBL", Price: canonical.NewMoney(price, "EUR")})
		mappings += fmt.Sprintf("  - {kind: rate_plan, property: LIS, partner: %s, roomwire: %s}\n", id, code)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mappings.yaml"), []byte(mappings), 0o600)
	cfgPath := filepath.Join(dir, "roomwire.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
connectors:
  apaleo:
    api_url: %[1]s
    identity_url: %[1]s
    client_id: roomwire-test
    client_secret: apaleo-secret-123
    webhook_user: apaleo
    webhook_password: webhook-secret-123
    timeout: 2s
mappings_file: %[2]s
backbone:
  partitions: 2
  retries: 3
  retry_initial: 20ms
  retry_max: 100ms
  %[3]s
`, srv.URL, filepath.Join(dir, "mappings.yaml"), backbone)), 0o600)
	p := startServe(t, pgtest.URL(t), append(testKafkaEnv(t), "ROOMWIRE_CONFIG="+cfgPath)...)
	if code, body := p.json(t, "PUT", "/v1/properties/LIS", `{"name": "Lisbon", "timezone": "Europe/Lisbon", "currency": "EUR",
		"room_types": [{"code": "DBL", "name": "Double", "units": 5}], "rate_plans": [`+property+`]}`); code != 201 {
		t.Fatalf("put property: %d %v", code, body)
	}
	if code, body := p.json(t, "PUT", "/v1/properties/LIS/rates", `{"updates": [`+rates+`]}`); code != 200 {
		t.Fatalf("put rates: %d %v", code, body)
	}
	return p, sim
}
