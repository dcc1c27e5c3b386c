package hub

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/roomwire/roomwire/reservations/bookingapi"
	"github.com/roomwire/roomwire/router"
)

// consumerHealth is how one consumer of the backbone, and the connector it
// calls, is doing: what GET /v1/ops/channels answers for each.
type consumerHealth struct {
	Consumer  string `json:"consumer"`
	Connector string `json:"connector"` // empty for Roomwire's own consumers
	Topic     string `json:"topic,omitempty"`
	// Breaker is the connector's circuit breaker: closed, half-open or open.
	Breaker        string     `json:"breaker"`
	Parked         int64      `json:"parked"`
	OldestParked   *time.Time `json:"oldest_parked_at,omitempty"`
	Pending        int64      `json:"pending"` // records not yet consumed (consumer lag); -1 when the broker could not say
	InFlight       *int64     `json:"in_flight,omitempty"`
	DeadLetters    int        `json:"dead_letters"`
	LastDelivered  *time.Time `json:"last_delivered_at"`
	DeliveryAge    *float64   `json:"delivery_age_seconds,omitempty"` // commit to acknowledgement of the last message
	ARILag         *float64   `json:"ari_lag_seconds,omitempty"`      // the same, for an ARI channel
	LastPush       *time.Time `json:"last_push_at,omitempty"`         // last successful ARI push
	RecentRefusals []refusal  `json:"recent_refusals"`
}

// refusal is a message a consumer gave up on: the newest dead letters.
type refusal struct {
	DeadLetterID int64     `json:"dead_letter_id"`
	At           time.Time `json:"at"`
	Reason       string    `json:"reason"`
	Error        string    `json:"error"`
}

// channelsHandler serves GET /v1/ops/channels: the health of every consumer,
// from the backbone's delivery state (router.Backbone.Deliveries), with the
// newest dead letters and, for ARI channels, the last push.
func (h *Hub) channelsHandler(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	states, err := h.Backbone.Deliveries(ctx)
	if err != nil {
		h.logger.ErrorContext(ctx, "channel health", "error", err)
		bookingapi.WriteProblem(w, r, http.StatusInternalServerError, bookingapi.CodeInternal, "channel health could not be read from the database or the broker; try again")
		return
	}
	var pushes map[string]time.Time
	if h.fanout != nil {
		pushes = map[string]time.Time{}
		for name, s := range h.fanout.Stats() {
			if !s.LastPush.IsZero() {
				pushes[name] = s.LastPush
			}
		}
	}
	out := []consumerHealth{}
	for _, d := range states {
		c := consumerHealth{Consumer: d.Consumer, Connector: d.Connector, Topic: d.Topic, Breaker: d.Breaker,
			Parked: d.Parked, OldestParked: d.OldestParkedAt, Pending: d.Lag, DeadLetters: int(d.DeadLetters), LastDelivered: d.LastDeliveredAt,
			DeliveryAge: d.LastDeliverySeconds, RecentRefusals: []refusal{}}
		inFlight := d.InFlight
		c.InFlight = &inFlight
		if strings.HasPrefix(d.Consumer, "ari.") {
			c.ARILag = d.LastDeliverySeconds
			if t, ok := pushes[d.Connector]; ok {
				c.LastPush = &t
			}
		}
		if d.DeadLetters > 0 {
			letters, err := h.Backbone.DeadLetters().List(ctx, router.DeadLetterFilter{Consumer: d.Consumer, Status: "dead", Limit: 1000})
			if err != nil {
				h.logger.ErrorContext(ctx, "channel health: dead letters", "consumer", d.Consumer, "error", err)
			}
			for i := len(letters) - 1; i >= 0 && len(c.RecentRefusals) < 3; i-- {
				dl := letters[i]
				c.RecentRefusals = append(c.RecentRefusals, refusal{DeadLetterID: dl.ID, At: dl.LastFailedAt, Reason: dl.Reason, Error: dl.Error})
			}
		}
		out = append(out, c)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		GeneratedAt time.Time        `json:"generated_at"`
		Consumers   []consumerHealth `json:"consumers"`
	}{time.Now().UTC(), out})
}
