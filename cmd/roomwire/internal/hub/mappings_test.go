package hub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// The mappings endpoint answers each mistake with its own problem, and a
// good PUT with the stored mappings beside the connector's defaults.
func TestMappingsEndpoint(t *testing.T) {
	mux := http.NewServeMux()
	h := mappingsHandler(connectors.NewMappings(pgtest.Pool(t)))
	mux.Handle("/v1/connectors/{name}/mappings", h)
	call := func(method, path, body string) (int, map[string]any, http.Header) {
		t.Helper()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON", method, path, rec.Code, rec.Body)
		}
		return rec.Code, out, rec.Header()
	}
	good := `{"mappings": [{"kind": "property", "partner": "HTL-LIS", "roomwire": "LIS"}]}`
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string // in the problem's detail, or a field name
	}{
		{"GET", "/v1/connectors/nope/mappings", "", 404, `no connector "nope"`},
		{"PUT", "/v1/connectors/" + ota.Name + "/mappings", `{"mappings": `, 400, ""},
		{"PUT", "/v1/connectors/" + ota.Name + "/mappings", `{}`, 400, `needs "mappings"`},
		{"PUT", "/v1/connectors/" + ota.Name + "/mappings", `{"mappings": [{"kind": "room_type", "partner": "X"}]}`, 422, "mappings[0]"},
		{"DELETE", "/v1/connectors/" + ota.Name + "/mappings", "", 405, "use GET or PUT"},
	} {
		code, body, _ := call(tc.method, tc.path, tc.body)
		if got := fmt.Sprint(body); code != tc.status || !strings.Contains(got, tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, code, got, tc.status, tc.want)
		}
	}
	code, body, _ := call("PUT", "/v1/connectors/"+ota.Name+"/mappings", good)
	if list, _ := body["mappings"].([]any); code != 200 || len(list) != 1 || body["connector"] != ota.Name {
		t.Fatalf("PUT: %d %v", code, body)
	}
	code, body, _ = call("GET", "/v1/connectors/"+ota.Name+"/mappings", "")
	if list, _ := body["mappings"].([]any); code != 200 || len(list) != 1 {
		t.Fatalf("GET after PUT: %d %v", code, body)
	}
}
