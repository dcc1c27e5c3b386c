package bookingapi

import (
	"net/http"

	"github.com/roomwire/roomwire/canonical"
)

func (a *API) getPayments(w http.ResponseWriter, r *http.Request) {
	p, err := a.store.Payments(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) getSettlement(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var p canonical.Problems
	from := readDate(&p, q.Get("from"), "from", true)
	to := readDate(&p, q.Get("to"), "to", true)
	if err := p.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	s, err := a.store.Settlement(r.Context(), principal(r).Scope, r.PathValue("id"), from, to)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}
