package router

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// TimelineHandlerOptions configure the timeline HTTP handler.
type TimelineHandlerOptions struct {
	// Allowed reports whether the caller may see reservations of
	// propertyID. Required: the handler answers 404 when it returns false,
	// so a caller cannot tell another hotel's reservation from a missing one.
	Allowed func(r *http.Request, propertyID string) bool
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
}

// Handler serves GET /v1/reservations/{id}/timeline: every message in and
// out concerning the reservation, oldest first, payloads with card numbers
// and secrets removed. Authentication is the mount point's; the property
// scope check is opts.Allowed's. Mount it with a pattern that names {id}
// (mux.Handle("GET /v1/reservations/{id}/timeline", h)), or anywhere the
// path ends in /{id}/timeline.
func (t *MessageTimeline) Handler(opts TimelineHandlerOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &timelineHandler{t: t, opts: opts}
}

type timelineHandler struct {
	t    *MessageTimeline
	opts TimelineHandlerOptions
}

// timelineEntryView is a timeline entry as the API shows it.
type timelineEntryView struct {
	TimelineEntry
	Payload *payloadView `json:"payload,omitempty"`
}

func (h *timelineHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		writeProblem(w, r, http.StatusMethodNotAllowed, bookingapi.CodeMethodNotAllowed, "use GET")
		return
	}
	id := r.PathValue("id")
	if id == "" {
		rest, ok := strings.CutSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/timeline")
		if ok {
			id = rest[strings.LastIndex(rest, "/")+1:]
		}
	}
	if id == "" {
		writeProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, "no such reservation")
		return
	}
	entries, err := h.t.Timeline(r.Context(), id)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	// Every reservation has at least its reservation.created entry, so
	// none means no such reservation. Entries are checked property by
	// property: an inbound message could name any reservation id, and must
	// not leak into another hotel's view.
	allowed := map[string]bool{}
	views := make([]timelineEntryView, 0, len(entries))
	propertyID := ""
	for _, e := range entries {
		ok, checked := allowed[e.PropertyID]
		if !checked {
			ok = h.opts.Allowed != nil && h.opts.Allowed(r, e.PropertyID)
			allowed[e.PropertyID] = ok
		}
		if !ok {
			continue
		}
		v := timelineEntryView{TimelineEntry: e}
		if len(e.Payload) > 0 {
			p := viewPayload(e.Payload)
			v.Payload = &p
		}
		views = append(views, v)
		if propertyID == "" || e.Consumer == relayConsumer {
			propertyID = e.PropertyID
		}
	}
	if len(views) == 0 {
		writeProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, "no such reservation")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ReservationID string              `json:"reservation_id"`
		PropertyID    string              `json:"property_id"`
		Entries       []timelineEntryView `json:"entries"`
		GeneratedAt   time.Time           `json:"generated_at"`
	}{id, propertyID, views, time.Now().UTC()})
}
