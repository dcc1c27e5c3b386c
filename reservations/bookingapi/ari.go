package bookingapi

import (
	"fmt"
	"net/http"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

// --- restrictions, rates, channel rules and flags ---

// restrictionBody is a restrictions change with its dates as text, read by
// readDate so that a bad one is named by its field.
type restrictionBody struct {
	reservations.RestrictionChange
	From string `json:"from"`
	To   string `json:"to"`
}

func (a *API) putRestrictions(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Updates []restrictionBody `json:"updates"`
	}
	if err := a.decode(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	var p canonical.Problems
	changes := make([]reservations.RestrictionChange, len(body.Updates))
	for i, u := range body.Updates {
		changes[i] = u.RestrictionChange
		changes[i].From, changes[i].To = readDateRange(&p, fmt.Sprintf("updates[%d]", i), u.From, u.To)
	}
	if err := p.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.PutRestrictions(r.Context(), principal(r).Scope, r.PathValue("id"), changes); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"updated": len(body.Updates)})
}

// dateRange reads the from and to query parameters, both required.
func dateRange(r *http.Request) (from, to canonical.Date, err error) {
	var p canonical.Problems
	q := r.URL.Query()
	from = readDate(&p, q.Get("from"), "from", true)
	to = readDate(&p, q.Get("to"), "to", true)
	return from, to, p.Err()
}

func (a *API) getRestrictions(w http.ResponseWriter, r *http.Request) {
	from, to, err := dateRange(r)
	if err == nil {
		var list []canonical.RestrictionsUpdate
		list, err = a.store.Restrictions(r.Context(), principal(r).Scope, r.PathValue("id"), from, to)
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"property_id": r.PathValue("id"), "from": from, "to": to, "restrictions": list})
			return
		}
	}
	a.writeError(w, r, err)
}

func (a *API) getRates(w http.ResponseWriter, r *http.Request) {
	from, to, err := dateRange(r)
	if err == nil {
		var list []canonical.RateUpdate
		list, err = a.store.Rates(r.Context(), principal(r).Scope, r.PathValue("id"), from, to)
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"property_id": r.PathValue("id"), "from": from, "to": to, "rates": list})
			return
		}
	}
	a.writeError(w, r, err)
}

func (a *API) putChannelRules(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Rules canonical.ChannelRules `json:"rules"`
	}
	if err := a.decode(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	id, channel := r.PathValue("id"), r.PathValue("channel")
	if err := a.store.PutChannelRules(r.Context(), principal(r).Scope, id, channel, body.Rules); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.getChannelRules(w, r)
}

func (a *API) getChannelRules(w http.ResponseWriter, r *http.Request) {
	id, channel := r.PathValue("id"), r.PathValue("channel")
	rules, err := a.store.ChannelRules(r.Context(), principal(r).Scope, id, channel)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"property_id": id, "channel": channel, "rules": rules})
}

func (a *API) listChannelRules(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rules, err := a.store.ChannelRulesOf(r.Context(), principal(r).Scope, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"property_id": id, "channels": rules})
}

func (a *API) clearFlag(w http.ResponseWriter, r *http.Request) {
	res, err := a.store.ClearFlag(r.Context(), principal(r).Scope, r.PathValue("id"), canonical.Flag(r.PathValue("flag")))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeReservation(w, http.StatusOK, res)
}
