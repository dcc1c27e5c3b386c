package bookingapi_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPaymentsOverHTTP reads a reservation's payment and a property's
// settlement as the payment flow records them (written here directly: the
// flow itself is tested in connectors/payments and end to end in cmd/roomwire).
func TestPaymentsOverHTTP(t *testing.T) {
	c, _, pool := newClockedServer(t)
	setUpProperty(t, c, "LIS", 5)
	setUpProperty(t, c, "OPO", 5)
	id := c.do("POST", "/v1/reservations", bookingBody("LIS", "Alves")).expect(t, 201, "").body["id"].(string)
	plain := c.do("POST", "/v1/reservations", bookingBody("LIS", "Brito")).expect(t, 201, "").body["id"].(string)

	// No payment yet: status none, no operations.
	none := c.do("GET", "/v1/reservations/"+plain+"/payments", nil).expect(t, 200, "")
	if none.body["status"] != "none" || len(none.body["operations"].([]any)) != 0 || none.body["amount_due"].(map[string]any)["amount"] != "286.00" {
		t.Fatalf("no payment: %s", none.raw)
	}

	ctx := context.Background()
	// Authorized on the 8th; a no-show fee captured at 00:30 on the 11th
	// in Lisbon (UTC+1 in April), still the 10th in UTC.
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	mustExec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	mustExec(`INSERT INTO payments (reservation_id, property_id, gateway, status, reference, currency, amount_due, authorized, captured, card_mask)
		VALUES ($1, 'LIS', 'stripe', 'captured', 'pi_3Rx', 'EUR', 28600, 0, 14300, '4111XXXXXXXX1111')`, id)
	op := func(operation, from, to string, amount, fee int64, reason, when string) {
		mustExec(`INSERT INTO payment_transitions (reservation_id, property_id, gateway, operation, from_status, to_status, amount, fee,
				currency, reference, idempotency_key, reservation_version, reason, created_at)
			VALUES ($1, 'LIS', 'stripe', $2, $3, $4, $5, $6, 'EUR', 'pi_3Rx', $9, 1, $7, $8)`,
			id, operation, from, to, amount, fee, reason, at(when), "roomwire-"+id+"-"+operation)
	}
	op("authorize", "", "authorized", 28600, 0, "", "2027-04-08T10:00:00Z")
	op("capture", "authorized", "captured", 14300, 14300, "no-show fee: first night", "2027-04-10T23:30:00Z") // the 11th in Lisbon
	// A reason that somehow holds a card number is not shown.
	op("refund", "captured", "refunded", 1000, 0, "card 4111 1111 1111 1111", "2027-04-11T09:00:00Z")

	p := c.do("GET", "/v1/reservations/"+id+"/payments", nil).expect(t, 200, "")
	ops := p.body["operations"].([]any)
	if p.body["status"] != "captured" || p.body["gateway"] != "stripe" || p.body["card_mask"] != "4111XXXXXXXX1111" || len(ops) != 3 {
		t.Fatalf("payments: %s", p.raw)
	}
	fee := ops[1].(map[string]any)
	if fee["operation"] != "capture" || fee["fee"].(map[string]any)["amount"] != "143.00" || fee["reason"] != "no-show fee: first night" ||
		fee["reference"] != "pi_3Rx" || fee["idempotency_key"] == "" || fee["at"] == nil {
		t.Fatalf("the fee's operation: %v", fee)
	}
	if p.body["fees"].(map[string]any)["amount"] != "143.00" || p.body["policy"].(map[string]any)["rate_plan"] != "FLEX" {
		t.Fatalf("fees and policy: %s", p.raw)
	}
	if strings.Contains(string(p.raw), "4111 1111") {
		t.Fatalf("a card number is shown: %s", p.raw)
	}

	// The settlement counts days in Lisbon: the fee falls on the 11th.
	s := c.do("GET", "/v1/properties/LIS/payments?from=2027-04-01&to=2027-04-30", nil).expect(t, 200, "")
	days := s.body["days"].([]any)
	if len(days) != 1 {
		t.Fatalf("settlement days: %s", s.raw)
	}
	d := days[0].(map[string]any)
	if d["date"] != "2027-04-11" || d["gateway"] != "stripe" || d["captured"].(map[string]any)["amount"] != "143.00" ||
		d["refunded"].(map[string]any)["amount"] != "10.00" || d["fees"].(map[string]any)["amount"] != "143.00" ||
		d["net"].(map[string]any)["amount"] != "133.00" || d["operations"] != 2.0 {
		t.Fatalf("settlement day: %v", d)
	}
	if tot := s.body["totals"].([]any); len(tot) != 1 {
		t.Fatalf("totals: %s", s.raw)
	}
	empty := c.do("GET", "/v1/properties/LIS/payments?from=2027-04-12&to=2027-04-30", nil).expect(t, 200, "")
	if len(empty.body["days"].([]any)) != 0 {
		t.Fatalf("a range without operations: %s", empty.raw)
	}
	c.do("GET", "/v1/properties/LIS/payments?from=2027-04-30&to=2027-04-01", nil).expect(t, 422, "validation_failed")
	c.do("GET", "/v1/properties/LIS/payments?from=2027-04-01", nil).expect(t, 422, "validation_failed")
	c.do("GET", "/v1/properties/NOPE/payments?from=2027-04-01&to=2027-04-02", nil).expect(t, 404, "not_found")

	// A key of another property sees neither.
	key := c.do("POST", "/v1/api-keys", map[string]any{"name": "porto", "properties": []string{"OPO"}}).expect(t, 201, "").body["key"].(string)
	porto := client{t: t, base: c.base, key: key}
	porto.do("GET", "/v1/reservations/"+id+"/payments", nil).expect(t, 404, "not_found")
	porto.do("GET", "/v1/properties/LIS/payments?from=2027-04-01&to=2027-04-30", nil).expect(t, 404, "not_found")
	c.do("GET", "/v1/reservations/"+id+"/payments", nil, "Authorization", "").expect(t, 401, "unauthorized")
}
