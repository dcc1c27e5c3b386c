package hub

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/reservations/bookingapi"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// Every route the running hub serves, with every connector that adds routes
// configured, is in the OpenAPI document it serves: adding a route without
// documenting it fails here.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const testAdminKey = "openapi-test-admin-key-0123"

func TestOpenAPIDocumentsEveryServedRoute(t *testing.T) {
	cfg := &config.Config{}
	cfg.SetDefaults()
	cfg.Database.URL = pgtest.URL(t)
	cfg.HTTP.AdminKey = testAdminKey
	cfg.StateDir = t.TempDir()
	cfg.Kafka.EmbeddedAddr = "127.0.0.1:0"
	cfg.Backbone.Topics.Partitions = 1
	nowhere := "http://127.0.0.1:9" // never called: the hub is built, not run
	cfg.Connectors = map[string]map[string]any{
		"apaleo":     {"api_url": nowhere, "identity_url": nowhere, "client_id": "c", "client_secret": "s", "webhook_user": "apaleo", "webhook_password": "p"},
		"ota":        {"channel": "ota", "inbound_user": "u", "inbound_password": "p", "ari_url": nowhere + "/ari", "ari_user": "u", "ari_password": "p"},
		"bookingcom": {"api_url": nowhere, "username": "u", "password": "p"},
		"expedia":    {"api_url": nowhere, "username": "u", "password": "p", "hotel_ids": []any{"1"}},
		"stripe":     {"api_url": nowhere, "secret_key": "sk_test_x", "webhook_secret": "whsec_x"},
	}
	cfg.Payments.DefaultGateway = "stripe"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	rec := httptest.NewRecorder()
	h.API.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	routes := h.API.Routes()
	if len(routes) < 20 {
		t.Fatalf("the hub registers only %d routes", len(routes))
	}
	for _, r := range routes {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok {
			method, path = "", r.Pattern // any method: a prefix or a handler that dispatches itself
		}
		path = strings.ReplaceAll(path, "{$}", "") // "/{$}" is "/" exactly
		if path == "" {
			path = "/"
		}
		if !documented(doc.Paths, method, path) {
			t.Errorf("%q (%s) is served but not documented in reservations/bookingapi/openapi.json", r.Pattern, accessName(r.Access))
		}
	}
}

// documented reports whether the document has the route: an operation of
// that method on a path that matches it ({param} matches any one segment),
// or, for a route without a method, some operation at the path or (for a
// prefix ending in /) under it.
func documented(paths map[string]map[string]any, method, pattern string) bool {
	prefix := strings.HasSuffix(pattern, "/")
	for p, item := range paths {
		if !pathMatches(p, pattern, prefix) {
			continue
		}
		if method == "" {
			return len(item) > 0
		}
		if _, ok := item[strings.ToLower(method)]; ok {
			return true
		}
	}
	return false
}

func pathMatches(documented, pattern string, prefix bool) bool {
	ds := strings.Split(strings.Trim(documented, "/"), "/")
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(ds) < len(ps) || (!prefix && len(ds) != len(ps)) {
		return false
	}
	for i, seg := range ps {
		param := func(s string) bool { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") }
		if seg != ds[i] && !param(seg) && !param(ds[i]) {
			return false
		}
		if param(seg) != param(ds[i]) && param(seg) {
			return false // a pattern's {x} is documented only by a {y}
		}
	}
	return true
}

func accessName(a bookingapi.Access) string {
	return map[bookingapi.Access]string{bookingapi.Public: "public", bookingapi.AnyKey: "any key", bookingapi.AdminOnly: "admin", bookingapi.MetricsAccess: "metrics"}[a]
}

func TestDocumentedMatchesRoutesToPaths(t *testing.T) {
	paths := map[string]map[string]any{
		"/v1/connectors/{name}/status": {"get": nil},
		"/v1/ops/dlq/{id}":             {"get": nil, "delete": nil},
		"/v1/ops/dlq":                  {"get": nil},
	}
	for _, tc := range []struct {
		method, pattern string
		want            bool
	}{
		{"GET", "/v1/connectors/bookingcom/status", true},
		{"PUT", "/v1/connectors/bookingcom/status", false},
		{"GET", "/v1/connectors/{name}/mappings", false},
		{"", "/v1/ops/dlq/", true},
		{"", "/v1/ops/dlq", true},
		{"", "/v1/console/", false},
		{"GET", "/v1/ops/dlq/{id}/audit", false},
		{"GET", "/v1/ops/{what}", false},
	} {
		if got := documented(paths, tc.method, tc.pattern); got != tc.want {
			t.Errorf("%s %s: documented %v, want %v", tc.method, tc.pattern, got, tc.want)
		}
	}
}
