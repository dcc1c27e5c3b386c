package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/bookingcom"
	"github.com/roomwire/roomwire/connectors/bookingcom/bookingcomsim"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/connectors/stripe/stripesim"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// The front desk's day through serve, with the Apaleo, Stripe and
// Booking.com simulators: a check-in before the arrival day is refused; a
// no-show on the arrival day captures the rate plan's no-show fee at Stripe
// and reaches Apaleo (its no-show action) and Booking.com (is_no_show) once
// each; GET /v1/reservations/{id}/payments shows the authorisation, the
// capture and the fee, and the settlement counts the fee.
func TestNoShowThroughServe(t *testing.T) {
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	today := canonical.DateOf(time.Now().In(lisbon))
	if time.Now().In(lisbon).Hour() == 23 && time.Now().In(lisbon).Minute() >= 55 {
		t.Skip("too close to midnight at the property: the arrival day would change under the test")
	}

	apa := apaleosim.New(apaleosim.Config{ClientID: "roomwire-test", ClientSecret: "apaleo-secret-123"})
	apaSrv := httptest.NewServer(apa)
	t.Cleanup(apaSrv.Close)
	apa.AddUnitGroup(apaleosim.UnitGroup{ID: "LIS-DBL", Property: "LIS", Units: 20})
	apa.AddRatePlan(apaleosim.RatePlan{ID: "LIS-FLEX-DBL", Property: "LIS", UnitGroup: "LIS-DBL", Price: canonical.NewMoney(12000, "EUR")})
	bcom := bookingcomsim.New(bookingcomsim.Config{Username: "roomwire-test", Password: "bcom-secret-123"})
	bcomSrv := httptest.NewServer(bcom)
	t.Cleanup(bcomSrv.Close)
	stripe := stripesim.New(stripesim.Config{SecretKey: "sk_test_lifecycle_123", Sim: gatewaysim.Config{}})
	stripeSrv := httptest.NewServer(stripe)
	t.Cleanup(stripeSrv.Close)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mappings.yaml"), []byte(`
apaleo:
  - {kind: property, partner: LIS, roomwire: LIS}
  - {kind: room_type, property: LIS, partner: LIS-DBL, roomwire: DBL}
  - {kind: rate_plan, property: LIS, partner: LIS-FLEX-DBL, roomwire: FLEX}
bookingcom:
  - {kind: property, partner: "1180204", roomwire: LIS}
  - {kind: room_type, property: LIS, partner: "118020401", roomwire: DBL}
  - {kind: rate_plan, property: LIS, partner: "50923412", roomwire: FLEX}
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
  bookingcom:
    api_url: %[2]s
    username: roomwire-test
    password: bcom-secret-123
    poll_interval: 200ms
    timeout: 2s
  stripe:
    api_url: %[3]s
    secret_key: sk_test_lifecycle_123
    timeout: 2s
payments:
  default_gateway: stripe
mappings_file: %[4]s
backbone:
  partitions: 2
  retries: 3
  retry_initial: 20ms
  retry_max: 100ms
  breaker_failures: 50
`, apaSrv.URL, bcomSrv.URL, stripeSrv.URL, filepath.Join(dir, "mappings.yaml"))), 0o600)
	p := startServe(t, pgtest.URL(t), "ROOMWIRE_CONFIG="+cfgPath)
	if code, body := p.json(t, "PUT", "/v1/properties/LIS", `{"name": "Lisbon", "timezone": "Europe/Lisbon", "currency": "EUR",
		"room_types": [{"code": "DBL", "name": "Double", "units": 5}],
		"rate_plans": [{"code": "FLEX", "room_type": "DBL", "name": "Flexible", "policy": {"free_cancellation_days": 2}}]}`); code != 201 {
		t.Fatalf("put property: %d %v", code, body)
	}
	if code, body := p.json(t, "PUT", "/v1/properties/LIS/rates", fmt.Sprintf(`{"updates": [
		{"rate_plan": "FLEX", "from": "%s", "to": "%s", "amount": "120.00", "currency": "EUR"}]}`, today, today.AddDays(10))); code != 200 {
		t.Fatalf("put rates: %d %v", code, body)
	}

	// Two guests book on Booking.com with a card: one arriving today, one tomorrow.
	book := func(arrival canonical.Date) (bookingID, id string) {
		stay := canonical.RoomStay{RoomType: "118020401", RatePlan: "50923412", Arrival: arrival, Departure: arrival.AddDays(2), Adults: 2,
			NightlyPrices: []canonical.NightlyPrice{{Date: arrival, Price: canonical.NewMoney(12000, "EUR")}, {Date: arrival.AddDays(1), Price: canonical.NewMoney(12000, "EUR")}}}
		bookingID = bcom.Book(canonical.Reservation{PropertyID: "1180204", PrimaryGuest: canonical.Guest{GivenName: "Jan", Surname: "de Vries"},
			RoomStays: []canonical.RoomStay{stay}, Total: canonical.NewMoney(24000, "EUR"),
			Guarantee: &canonical.Guarantee{Type: "card", CardToken: "pm_card_visa", CardMask: "4242XXXXXXXX4242", CardBrand: "VI", CardExpiry: "1230"}})
		eventually(t, "the Booking.com booking is in Roomwire", func() bool {
			_, body := p.json(t, "GET", "/v1/reservations?channel=bookingcom&external_id="+bookingID, "")
			items, _ := body["items"].([]any)
			if len(items) == 1 {
				id = items[0].(map[string]any)["id"].(string)
			}
			return id != ""
		})
		return bookingID, id
	}
	tonight, id := book(today)
	_, later := book(today.AddDays(1))
	payments := func(id string) map[string]any {
		_, body := p.json(t, "GET", "/v1/reservations/"+id+"/payments", "")
		return body
	}
	inApaleo := func(id string) string {
		_, r := p.json(t, "GET", "/v1/reservations/"+id, "")
		for _, a := range apa.Reservations() {
			if a.ExternalCode == r["external_id"] { // the channel's reservation id
				return a.ID
			}
		}
		return ""
	}
	for _, r := range []string{id, later} {
		eventually(t, "the booking is held at Stripe and booked in Apaleo", func() bool {
			return payments(r)["status"] == "authorized" && inApaleo(r) != ""
		})
	}
	apaleoID := inApaleo(id)

	// A check-in before the arrival day is refused, with what is allowed.
	code, body := p.json(t, "PATCH", "/v1/reservations/"+later, `{"status": "checked_in"}`)
	if code != 409 || body["code"] != "invalid_transition" || !reflect.DeepEqual(body["allowed"], []any{"cancelled"}) {
		t.Fatalf("check-in before arrival: %d %v", code, body)
	}

	// A no-show on the arrival day.
	if code, body := p.json(t, "PATCH", "/v1/reservations/"+id, `{"status": "no_show"}`); code != 200 || body["status"] != "no_show" {
		t.Fatalf("no-show: %d %v", code, body)
	}
	eventually(t, "the no-show fee is captured", func() bool { return payments(id)["status"] == "captured" })
	eventually(t, "the no-show reaches Apaleo and Booking.com", func() bool {
		return len(apa.Actions(apaleoID)) > 0 && len(bcom.Reports(tonight)) > 0
	})
	pay := payments(id)
	ops := pay["operations"].([]any)
	if len(ops) != 2 || ops[0].(map[string]any)["operation"] != "authorize" || ops[1].(map[string]any)["operation"] != "capture" {
		t.Fatalf("payment operations: %v", pay)
	}
	auth, fee := ops[0].(map[string]any), ops[1].(map[string]any)
	if auth["amount"].(map[string]any)["amount"] != "240.00" || fee["amount"].(map[string]any)["amount"] != "120.00" ||
		fee["fee"].(map[string]any)["amount"] != "120.00" || fee["reason"] != "no-show fee: first night" || fee["reference"] == "" {
		t.Fatalf("authorisation %v, fee %v", auth, fee)
	}
	if pay["captured"].(map[string]any)["amount"] != "120.00" || pay["fees"].(map[string]any)["amount"] != "120.00" || pay["card_mask"] != "4242XXXXXXXX4242" {
		t.Fatalf("payment: %v", pay)
	}
	_, settlement := p.json(t, "GET", fmt.Sprintf("/v1/properties/LIS/payments?from=%s&to=%s", today.AddDays(-1), today.AddDays(1)), "")
	if days := settlement["days"].([]any); len(days) != 1 || days[0].(map[string]any)["fees"].(map[string]any)["amount"] != "120.00" {
		t.Fatalf("settlement: %v", settlement)
	}

	// Once each, after everything has settled: redeliveries and Apaleo's
	// echo webhook changed nothing.
	time.Sleep(time.Second)
	if got := apa.Actions(apaleoID); !reflect.DeepEqual(got, []string{"noshow"}) {
		t.Errorf("Apaleo received %v", got)
	}
	if got := apa.Reservation(apaleoID).Status; got != apaleo.StatusNoShow {
		t.Errorf("Apaleo has %s", got)
	}
	if got := bcom.Reports(tonight); !reflect.DeepEqual(got, []bookingcom.Report{{Kind: bookingcom.ReportNoShow, WaivedFees: "no"}}) {
		t.Errorf("Booking.com received %v", got)
	}
	if n := stripe.Authorizations(id); n != 1 {
		t.Errorf("%d authorizations at Stripe", n)
	}
}
