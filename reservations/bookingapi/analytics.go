package bookingapi

import (
	"net/http"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

// analytics answers a property's occupancy, ADR, RevPAR, revenue,
// cancellations, no-shows, pickup and channel mix over from..to.
func (a *API) analytics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var p canonical.Problems
	query := reservations.AnalyticsQuery{PropertyID: r.PathValue("id"), GroupBy: reservations.AnalyticsGrouping(q.Get("group_by"))}
	query.From = readDate(&p, q.Get("from"), "from", true)
	query.To = readDate(&p, q.Get("to"), "to", true)
	if err := p.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	out, err := a.store.Analytics(r.Context(), principal(r).Scope, query)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
