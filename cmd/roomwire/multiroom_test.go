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

// A booking of two rooms reaches Apaleo through serve as two reservations,
// each with the room's own primary guest; a room added later is added to
// the Apaleo booking, and a room removed has its reservation cancelled,
// nothing dead-lettered.
func TestMultiRoomBookingReachesApaleoThroughServe(t *testing.T) {
	sim := apaleosim.New(apaleosim.Config{ClientID: "roomwire-test", ClientSecret: "apaleo-secret-123"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.AddUnitGroup(apaleosim.UnitGroup{ID: "LIS-DBL", Property: "LIS", Units: 20})
	sim.AddRatePlan(apaleosim.RatePlan{ID: "LIS-FLEX-DBL", Property: "LIS", UnitGroup: "LIS-DBL", Price: canonical.NewMoney(12000, "EUR")})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mappings.yaml"), []byte(`
apaleo:
  - {kind: property, partner: LIS, roomwire: LIS}
  - {kind: room_type, property: LIS, partner: LIS-DBL, roomwire: DBL}
  - {kind: rate_plan, property: LIS, partner: LIS-FLEX-DBL, roomwire: FLEX}
`), 0o600)
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
`, srv.URL, filepath.Join(dir, "mappings.yaml"))), 0o600)
	p := startServe(t, pgtest.URL(t), append(testKafkaEnv(t), "ROOMWIRE_CONFIG="+cfgPath)...)
	if code, body := p.json(t, "PUT", "/v1/properties/LIS", `{"name": "Lisbon", "timezone": "Europe/Lisbon", "currency": "EUR",
		"room_types": [{"code": "DBL", "name": "Double", "units": 5}], "rate_plans": [{"code": "FLEX", "room_type": "DBL", "name": "Flexible"}]}`); code != 201 {
		t.Fatalf("put property: %d %v", code, body)
	}
	if code, body := p.json(t, "PUT", "/v1/properties/LIS/rates", `{"updates": [
		{"rate_plan": "FLEX", "from": "2027-04-01", "to": "2027-04-30", "amount": "120.00", "currency": "EUR"}]}`); code != 200 {
		t.Fatalf("put rates: %d %v", code, body)
	}
	room := func(arrival, departure string, guest int) string {
		return fmt.Sprintf(`{"room_type": "DBL", "rate_plan": "FLEX", "arrival": %q, "departure": %q, "adults": 1, "guests": [%d]}`, arrival, departure, guest)
	}
	code, body := p.json(t, "POST", "/v1/reservations", `{"property_id": "LIS", "primary_guest": {"given_name": "Zoë", "surname": "Núñez"},
		"additional_guests": [{"given_name": "Søren", "surname": "Kierkegård"}],
		"room_stays": [`+room("2027-04-10", "2027-04-12", 1)+`, `+room("2027-04-11", "2027-04-13", 0)+`]}`)
	if code != 201 {
		t.Fatalf("book: %d %v", code, body)
	}
	id, confirmation := body["id"].(string), body["confirmation_number"].(string)
	// active lists the booking's Apaleo reservations not cancelled, by arrival, with their primary guest.
	active := func() map[string]string {
		out := map[string]string{}
		for _, r := range sim.Reservations() {
			if r.ExternalCode == confirmation && r.Status != apaleo.StatusCanceled {
				out[r.Arrival[:10]] = r.PrimaryGuest.LastName
			}
		}
		return out
	}
	eventually(t, "both rooms are in Apaleo, each with its own guest", func() bool {
		a := active()
		return len(a) == 2 && a["2027-04-10"] == "Kierkegård" && a["2027-04-11"] == "Núñez"
	})
	if code, body := p.json(t, "PATCH", "/v1/reservations/"+id, `{"room_stays": [`+room("2027-04-10", "2027-04-12", 1)+`, `+
		room("2027-04-11", "2027-04-13", 0)+`, `+room("2027-04-20", "2027-04-22", 0)+`]}`); code != 200 {
		t.Fatalf("add a room: %d %v", code, body)
	}
	eventually(t, "the added room is in Apaleo", func() bool { a := active(); return len(a) == 3 && a["2027-04-20"] == "Núñez" })
	if code, body := p.json(t, "PATCH", "/v1/reservations/"+id, `{"room_stays": [`+room("2027-04-11", "2027-04-13", 0)+`, `+
		room("2027-04-20", "2027-04-22", 0)+`]}`); code != 200 {
		t.Fatalf("remove a room: %d %v", code, body)
	}
	eventually(t, "the removed room is cancelled in Apaleo", func() bool {
		a := active()
		return len(a) == 2 && a["2027-04-10"] == "" && a["2027-04-11"] == "Núñez" && a["2027-04-20"] == "Núñez"
	})
	if listing, _ := runCLI(t, p, "dlq", "list"); strings.Contains(listing, "outbound.apaleo") {
		t.Fatalf("dead-lettered:\n%s", listing)
	}
}
