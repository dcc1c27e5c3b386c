package bookingapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/bookingapi"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// Occupancy and RevPAR over HTTP match the bookings made: 3 rooms over 5
// nights are 15 room nights; two bookings of 2 nights at 143.00 sell 4.
func TestAnalyticsOverHTTP(t *testing.T) {
	c := newServer(t)
	setUpProperty(t, c, "LIS", 3)
	setUpProperty(t, c, "OPO", 3)
	c.do("POST", "/v1/reservations", bookingBody("LIS", "Silva")).expect(t, 201, "")
	c.do("POST", "/v1/reservations", bookingBody("LIS", "Costa")).expect(t, 201, "")

	a := c.do("GET", "/v1/properties/LIS/analytics?from=2027-04-08&to=2027-04-12&group_by=channel", nil).expect(t, 200, "")
	totals := a.body["totals"].(map[string]any)
	if totals["rooms_available"] != 15.0 || totals["rooms_sold"] != 4.0 || totals["occupancy"] != 4.0/15 {
		t.Fatalf("totals: %s", a.raw)
	}
	if totals["revpar"].(map[string]any)["amount"] != "38.13" || totals["adr"].(map[string]any)["amount"] != "143.00" {
		t.Fatalf("ADR and RevPAR (572.00 over 4 sold and 15 available): %s", a.raw)
	}
	groups := a.body["groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["key"] != "direct" {
		t.Fatalf("groups: %s", a.raw)
	}

	c.do("GET", "/v1/properties/LIS/analytics?from=2027-04-08", nil).expect(t, 422, "validation_failed")
	c.do("GET", "/v1/properties/LIS/analytics?from=2027-04-08&to=2027-04-09&group_by=week", nil).expect(t, 422, "validation_failed")
	c.do("GET", "/v1/properties/NOPE/analytics?from=2027-04-08&to=2027-04-09", nil).expect(t, 404, "not_found")

	created := c.do("POST", "/v1/api-keys", map[string]any{"name": "porto", "properties": []string{"OPO"}}).expect(t, 201, "")
	porto := client{t: t, base: c.base, key: created.body["key"].(string)}
	porto.do("GET", "/v1/properties/LIS/analytics?from=2027-04-08&to=2027-04-09", nil).expect(t, 404, "not_found")
	porto.do("GET", "/v1/properties/OPO/analytics?from=2027-04-08&to=2027-04-09", nil).expect(t, 200, "")
}

// The metrics key reads /metrics and nothing else; requests are counted per
// route, not per path.
func TestMetricsKeyAndRequestMetrics(t *testing.T) {
	const metricsKey = "metrics-key-0123456789"
	reg := prometheus.NewRegistry()
	store := reservations.New(pgtest.Pool(t))
	api, err := bookingapi.New(bookingapi.Config{AdminKey: adminKey, MetricsKey: metricsKey, Metrics: reg}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	api.Handle("GET /metrics", bookingapi.MetricsAccess, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	admin := client{t: t, base: srv.URL, key: adminKey}
	metrics := client{t: t, base: srv.URL, key: metricsKey}

	setUpProperty(t, admin, "LIS", 1)
	admin.do("GET", "/v1/reservations/RWNOSUCH1", nil).expect(t, 404, "not_found")
	admin.do("GET", "/v1/reservations/RWNOSUCH2", nil).expect(t, 404, "not_found")
	metrics.do("GET", "/v1/reservations", nil).expect(t, 403, "forbidden")
	metrics.do("PUT", "/v1/properties/LIS", map[string]any{}).expect(t, 403, "forbidden")

	created := admin.do("POST", "/v1/api-keys", map[string]any{"name": "lisbon", "properties": []string{"LIS"}}).expect(t, 201, "")
	client{t: t, base: srv.URL, key: created.body["key"].(string)}.do("GET", "/metrics", nil).expect(t, 403, "forbidden")
	client{t: t, base: srv.URL}.do("GET", "/metrics", nil).expect(t, 401, "unauthorized")

	for _, c := range []client{metrics, admin} {
		resp := c.do("GET", "/metrics", nil)
		if resp.status != http.StatusOK {
			t.Fatalf("/metrics: %d %s", resp.status, resp.raw)
		}
		text := string(resp.raw)
		for _, want := range []string{
			`roomwire_http_requests_total{code="404",method="GET",route="GET /v1/reservations/{id}"} 2`,
			`roomwire_http_request_duration_seconds_count{method="PUT",route="PUT /v1/properties/{id}"}`,
			`roomwire_http_requests_in_flight 1`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics has no %s", want)
			}
		}
	}
}
