package hub

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The partners' routes take no API key, so an unknown one must not tell a
// stranger which connectors run.
func TestUnknownConnectorRouteNamesNoConnector(t *testing.T) {
	h := &Hub{webhooks: map[string]http.Handler{"ota": http.NotFoundHandler(), "apaleo": http.NotFoundHandler()}}
	rec := httptest.NewRecorder()
	h.serveWebhook(rec, httptest.NewRequest(http.MethodPost, "/v1/connectors/nosuch/", nil))
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "ota") || strings.Contains(rec.Body.String(), "apaleo") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
