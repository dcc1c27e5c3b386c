package notify

import (
	"net/http"
	"strconv"

	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// Mount adds the notification endpoints to the API. Webhook subscriptions
// and property settings are scoped like API keys: a key sees and changes
// only what lies within its properties.
func (n *Service) Mount(api *bookingapi.API) {
	api.Handle("POST /v1/webhooks", bookingapi.AnyKey, http.HandlerFunc(n.postWebhook))
	api.Handle("GET /v1/webhooks", bookingapi.AnyKey, http.HandlerFunc(n.listWebhooks))
	api.Handle("GET /v1/webhooks/{id}", bookingapi.AnyKey, http.HandlerFunc(n.getWebhook))
	api.Handle("DELETE /v1/webhooks/{id}", bookingapi.AnyKey, http.HandlerFunc(n.deleteWebhook))
	api.Handle("POST /v1/webhooks/{id}/enable", bookingapi.AnyKey, http.HandlerFunc(n.enableWebhook))
	api.Handle("GET /v1/webhooks/{id}/deliveries", bookingapi.AnyKey, http.HandlerFunc(n.webhookDeliveries))
	api.Handle("GET /v1/properties/{id}/notifications", bookingapi.AnyKey, http.HandlerFunc(n.getSettings))
	api.Handle("PUT /v1/properties/{id}/notifications", bookingapi.AnyKey, http.HandlerFunc(n.putSettings))
	api.Handle("GET /v1/properties/{id}/templates", bookingapi.AnyKey, http.HandlerFunc(n.listTemplates))
	api.Handle("GET /v1/properties/{id}/templates/{kind}/{language}", bookingapi.AnyKey, http.HandlerFunc(n.getTemplate))
	api.Handle("PUT /v1/properties/{id}/templates/{kind}/{language}", bookingapi.AnyKey, http.HandlerFunc(n.putTemplate))
	api.Handle("DELETE /v1/properties/{id}/templates/{kind}/{language}", bookingapi.AnyKey, http.HandlerFunc(n.deleteTemplate))
}

// createdSubscription is the answer to POST: the subscription and, this
// once, its secret.
type createdSubscription struct {
	Subscription
	Secret string `json:"secret"`
}

func (n *Service) postWebhook(w http.ResponseWriter, r *http.Request) {
	var body subscriptionBody
	if err := decodeBody(w, r, &body); err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	p, scope := scopeOf(r)
	s, err := n.createSubscription(r.Context(), p.ID, scope, body)
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	n.logger.InfoContext(r.Context(), "webhook subscription created", "subscription", s.ID, "events", s.Events, "by", p.ID)
	w.Header().Set("Location", "/v1/webhooks/"+s.ID)
	writeJSON(w, http.StatusCreated, createdSubscription{Subscription: s, Secret: s.secret})
}

func (n *Service) listWebhooks(w http.ResponseWriter, r *http.Request) {
	_, scope := scopeOf(r)
	subs, err := n.listSubscriptions(r.Context(), scope)
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": subs})
}

func (n *Service) getWebhook(w http.ResponseWriter, r *http.Request) {
	_, scope := scopeOf(r)
	s, err := n.visibleSubscription(r.Context(), scope, r.PathValue("id"))
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (n *Service) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	p, scope := scopeOf(r)
	s, err := n.visibleSubscription(r.Context(), scope, r.PathValue("id"))
	if err == nil {
		_, err = n.pool.Exec(r.Context(), `UPDATE webhook_subscriptions SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, s.ID)
	}
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	n.subs.invalidate()
	n.logger.InfoContext(r.Context(), "webhook subscription deleted", "subscription", s.ID, "by", p.ID)
	w.WriteHeader(http.StatusNoContent)
}

// enableWebhook makes a disabled subscription receive again. What was
// dead-lettered meanwhile waits in the dead letters for a replay.
func (n *Service) enableWebhook(w http.ResponseWriter, r *http.Request) {
	p, scope := scopeOf(r)
	s, err := n.visibleSubscription(r.Context(), scope, r.PathValue("id"))
	if err == nil {
		_, err = n.pool.Exec(r.Context(), `UPDATE webhook_subscriptions SET disabled_at = NULL, disabled_reason = NULL,
			failures = 0, failing_since = NULL WHERE id = $1`, s.ID)
	}
	if err == nil {
		s, err = n.subscription(r.Context(), s.ID)
	}
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	n.logger.InfoContext(r.Context(), "webhook subscription enabled", "subscription", s.ID, "by", p.ID)
	writeJSON(w, http.StatusOK, s)
}

// webhookDeliveries is the subscription's delivery log, newest first:
// ?limit= (at most 500) and ?before=<id> to page back.
func (n *Service) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	_, scope := scopeOf(r)
	s, err := n.visibleSubscription(r.Context(), scope, r.PathValue("id"))
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	limit, before := 100, int64(0)
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			bookingapi.WriteProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, "limit must be a number from 1 to 500")
			return
		}
	}
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			bookingapi.WriteProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, "before must be a delivery id")
			return
		}
	}
	ds, err := n.deliveries(r.Context(), s.ID, before, limit)
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	if ds == nil {
		ds = []Delivery{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
}
