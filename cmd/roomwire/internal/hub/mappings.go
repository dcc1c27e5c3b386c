package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// mappingsBody is the body of PUT and GET /v1/connectors/{name}/mappings.
type mappingsBody struct {
	Connector string               `json:"connector,omitempty"`
	Mappings  []connectors.Mapping `json:"mappings"`
	// Defaults are the connector's built-in mappings, which stored ones override.
	Defaults []connectors.Mapping `json:"defaults,omitempty"`
}

// mappingsHandler serves GET and PUT /v1/connectors/{name}/mappings, for
// the admin key only. PUT replaces the connector's stored mappings with the
// body's {"mappings": [{"kind": "rate_plan", "property": "LIS",
// "partner": "LIS-FLEX-DBL", "roomwire": "FLEX"}]}; both answer the stored
// mappings and the connector's defaults. It lives with the API's assembly,
// not in the connector SDK, so that connectors do not depend on the API server.
func mappingsHandler(m *connectors.Mappings) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if !m.Known(name) {
			bookingapi.WriteProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound,
				fmt.Sprintf("no connector %q (configured or registered: %s)", connectors.SafeText(name, 40), strings.Join(m.Instances(), ", ")))
			return
		}
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut:
			data, err := connectors.ReadLimited(http.MaxBytesReader(w, r.Body, 4<<20), 4<<20)
			if err != nil {
				bookingapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, bookingapi.CodePayloadTooLarge, err.Error())
				return
			}
			var body mappingsBody
			if err := connectors.DecodeJSON(data, &body); err != nil {
				bookingapi.WriteProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, err.Error())
				return
			}
			if body.Mappings == nil {
				bookingapi.WriteProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, `the body needs "mappings": a list, empty to remove all`)
				return
			}
			if err := m.Replace(r.Context(), name, body.Mappings); err != nil {
				var v canonical.ValidationError
				if errors.As(err, &v) {
					bookingapi.WriteProblem(w, r, http.StatusUnprocessableEntity, bookingapi.CodeValidationFailed, "some mappings are not valid", v...)
					return
				}
				bookingapi.WriteProblem(w, r, http.StatusInternalServerError, bookingapi.CodeInternal, "could not store the mappings")
				return
			}
		default:
			w.Header().Set("Allow", "GET, PUT")
			bookingapi.WriteProblem(w, r, http.StatusMethodNotAllowed, bookingapi.CodeMethodNotAllowed, "use GET or PUT")
			return
		}
		list, err := m.List(r.Context(), name)
		if err != nil {
			bookingapi.WriteProblem(w, r, http.StatusInternalServerError, bookingapi.CodeInternal, "could not read the mappings")
			return
		}
		if list == nil {
			list = []connectors.Mapping{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(mappingsBody{Connector: name, Mappings: list, Defaults: m.Defaults(name)}) //nolint:errcheck
	})
}
