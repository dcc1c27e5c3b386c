package apaleo_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/reservations"
)

func TestWebhookReceiver(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{})
	url := w.hooks.URL + "/v1/connectors/apaleo/webhooks"
	post := func(user, pass, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	health := `{"topic":"System","type":"healthcheck","id":"h1","accountId":"RWDEMO","data":{"entityId":""},"timestamp":1}`
	tests := []struct {
		name, user, pass, body string
		status                 int
		contains               string
	}{
		{"no credentials", "", "", health, 401, "basic-auth"},
		{"wrong password", "apaleo", "nope", health, 401, "basic-auth"},
		{"health check", "apaleo", webhookPassword, health, 200, ""},
		{"truncated", "apaleo", webhookPassword, `{"topic":"Reservation","ty`, 400, "truncated"},
		{"unknown reservation", "apaleo", webhookPassword, `{"topic":"Reservation","type":"created","id":"x1","data":{"entityId":"NOPE-1"}}`, 422, "not found"},
		{"other topic", "apaleo", webhookPassword, `{"topic":"Folio","type":"created","id":"x2","data":{"entityId":"F1"}}`, 200, ""},
		{"no entity", "apaleo", webhookPassword, `{"topic":"Reservation","type":"created","id":"x3","data":{}}`, 400, "entityId"},
		{"too large", "apaleo", webhookPassword, `{"x":"` + strings.Repeat("a", 70000) + `"}`, 413, "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.user, tt.pass, tt.body)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("got %d %s, want %d containing %q", status, body, tt.status, tt.contains)
			}
			if status >= 400 && !strings.Contains(body, `"messages"`) {
				t.Errorf("error not in Apaleo's format: %s", body)
			}
		})
	}
	// The simulator's own health check reaches the receiver too.
	w.sim.SendHealthCheck()
}

func TestTokenIsCachedAndRefreshedOnceOn401(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{})
	ctx := context.Background()
	booked, err := w.sim.CreateBooking(frontDeskBooking("LIS-FLEX-DBL", "2027-04-20", 1))
	if err != nil {
		t.Fatal(err)
	}
	id := booked.ReservationIDs[0].ID
	for i := 0; i < 3; i++ {
		if _, err := w.conn.GetReservation(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// Apaleo revokes the token: the next call gets a 401, fetches a new
	// token and succeeds.
	w.sim.SetFaults(apaleosim.Faults{Unauthorized: true})
	if _, err := w.conn.GetReservation(ctx, id); err != nil {
		t.Fatalf("after the token was revoked: %v", err)
	}
}

func TestPullAvailabilityAndRates(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{ErrorRate: 0.3})
	ctx := context.Background()
	w.sim.SetWebhook("", "", "") // this test is about ARI only
	// Two doubles are sold in Apaleo for the night of 2027-04-21.
	for i := 0; i < 2; i++ {
		if _, err := w.sim.CreateBooking(frontDeskBooking("LIS-FLEX-DBL", "2027-04-21", 1)); err != nil {
			t.Fatal(err)
		}
	}
	w.sim.AddRatePlan(apaleosim.RatePlan{ID: "LIS-FLEX-DBL", Property: "LIS", UnitGroup: "LIS-DBL", Price: canonical.NewMoney(14500, "EUR"),
		Occupancy:    []canonical.OccupancyPrice{{Adults: 1, Price: canonical.NewMoney(12500, "EUR")}, {Adults: 2, Price: canonical.NewMoney(14500, "EUR")}},
		Restrictions: &apaleo.RateRestrictions{MinLengthOfStay: 2, ClosedOnDeparture: true}})
	if err := w.conn.SyncARI(ctx, w.sink(), "LIS", date("2027-04-20"), date("2027-04-22")); err != nil {
		t.Fatal(err)
	}
	// Apaleo's restrictions and prices by adults came in with its rates.
	restr, err := w.store.Restrictions(ctx, reservations.AllProperties, "LIS", date("2027-04-20"), date("2027-04-22"))
	if err != nil || len(restr) != 1 || *restr[0].MinStay != 2 || !*restr[0].ClosedToDeparture || *restr[0].StopSell || restr[0].RatePlan != "FLEX-DBL" {
		t.Fatalf("restrictions %+v %v", restr, err)
	}
	rates, err := w.store.Rates(ctx, reservations.AllProperties, "LIS", date("2027-04-21"), date("2027-04-21"))
	if err != nil || len(rates) != 2 || rates[0].RatePlan != "FLEX-DBL" || len(rates[0].Occupancy) != 2 || rates[0].Occupancy[0].Price != canonical.NewMoney(12500, "EUR") {
		t.Fatalf("rates %+v %v", rates, err)
	}
	offers, err := w.store.Availability(ctx, reservations.AllProperties, reservations.AvailabilityQuery{
		PropertyID: "LIS", Arrival: date("2027-04-21"), Departure: date("2027-04-22"), Adults: 2, IncludeSoldOut: true, IncludeRestricted: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range offers {
		if o.RatePlan == "FLEX-DBL" {
			found = true
			if o.Available != 8 || o.Total != canonical.NewMoney(14500, "EUR") {
				t.Errorf("FLEX-DBL: %d available at %s, want 8 at 145.00 EUR", o.Available, o.Total)
			}
		}
	}
	if !found {
		t.Fatalf("no FLEX-DBL offer: %+v", offers)
	}
}

func TestBackfill(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{})
	w.sim.SetWebhook("", "", "") // only the backfill brings bookings in
	ctx := context.Background()
	for _, arrival := range []string{"2027-04-20", "2027-04-25", "2027-06-01"} {
		if _, err := w.sim.CreateBooking(frontDeskBooking("LIS-FLEX-SGL", arrival, 2)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ { // a second run changes nothing
		n, err := w.conn.Backfill(ctx, w.sink(), date("2027-04-01"), date("2027-04-30"))
		if err != nil || n != 2 {
			t.Fatalf("backfill %d: delivered %d, %v; want 2", i+1, n, err)
		}
	}
	page, err := w.store.List(ctx, reservations.AllProperties, reservations.Filter{Channel: apaleo.Channel})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("%d reservations from Apaleo, want 2 (%v)", len(page.Items), err)
	}
}
