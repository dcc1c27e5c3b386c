package router

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// DeadLetterPath is where the dead-letter operations are served.
const DeadLetterPath = "/v1/ops/dlq"

// DeadLetterHandlerOptions configure the dead-letter HTTP handler.
type DeadLetterHandlerOptions struct {
	// Actor names the caller in the audit trail (e.g. the admin key's id).
	// nil records no actor.
	Actor func(r *http.Request) string
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
}

// Handler serves the dead-letter operations under /v1/ops/dlq:
//
//	GET    /v1/ops/dlq                 list; query: topic, reason, consumer, status, after, limit
//	GET    /v1/ops/dlq/{id}            one dead letter, its payload and audit trail
//	POST   /v1/ops/dlq/{id}/replay     replay one
//	POST   /v1/ops/dlq/replay          replay {"ids": [...]} or {"all": true, "topic": "...", "reason": "..."}
//	DELETE /v1/ops/dlq/{id}            purge one
//
// Errors are RFC 9457 problem documents (application/problem+json) with a
// "code" member. The handler does no authentication or authorisation:
// mount it behind the API server's admin-key check, e.g.
//
//	mux.Handle(router.DeadLetterPath, requireAdmin(h))
//	mux.Handle(router.DeadLetterPath+"/", requireAdmin(h))
//
// Payloads are shown with card numbers, secrets, guest contact and card
// tokens masked.
func (d *DeadLetters) Handler(opts DeadLetterHandlerOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = d.logger
	}
	return &deadLetterHandler{d: d, opts: opts}
}

type deadLetterHandler struct {
	d    *DeadLetters
	opts DeadLetterHandlerOptions
}

// deadLetterView is a dead letter as the API shows it.
type deadLetterView struct {
	DeadLetter
	Payload *payloadView      `json:"payload,omitempty"`
	Audit   []DeadLetterAudit `json:"audit,omitempty"`
}

func (h *deadLetterHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, ok := splitPath(r.URL.Path, DeadLetterPath)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, "no such resource")
		return
	}
	switch {
	case len(segs) == 0:
		h.route(w, r, map[string]http.HandlerFunc{http.MethodGet: h.list})
	case len(segs) == 1 && segs[0] == "replay":
		h.route(w, r, map[string]http.HandlerFunc{http.MethodPost: h.replayMany})
	case len(segs) == 1:
		id, ok := parseID(segs[0])
		if !ok {
			writeProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, "no such dead letter")
			return
		}
		h.route(w, r, map[string]http.HandlerFunc{
			http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { h.show(w, r, id) },
			http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { h.purge(w, r, id) },
		})
	case len(segs) == 2 && segs[1] == "replay":
		id, ok := parseID(segs[0])
		if !ok {
			writeProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, "no such dead letter")
			return
		}
		h.route(w, r, map[string]http.HandlerFunc{
			http.MethodPost: func(w http.ResponseWriter, r *http.Request) { h.replayOne(w, r, id) },
		})
	default:
		writeProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, "no such resource")
	}
}

// route dispatches on the method, answering 405 with Allow otherwise.
func (h *deadLetterHandler) route(w http.ResponseWriter, r *http.Request, methods map[string]http.HandlerFunc) {
	if fn, ok := methods[r.Method]; ok {
		fn(w, r)
		return
	}
	if r.Method == http.MethodHead {
		if _, ok := methods[http.MethodGet]; ok {
			methods[http.MethodGet](w, r)
			return
		}
	}
	allow := ""
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if _, ok := methods[m]; ok {
			if allow != "" {
				allow += ", "
			}
			allow += m
		}
	}
	w.Header().Set("Allow", allow)
	writeProblem(w, r, http.StatusMethodNotAllowed, bookingapi.CodeMethodNotAllowed, fmt.Sprintf("use %s", allow))
}

func (h *deadLetterHandler) actor(r *http.Request) string {
	if h.opts.Actor == nil {
		return ""
	}
	return h.opts.Actor(r)
}

func (h *deadLetterHandler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := DeadLetterFilter{
		Topic:    q.Get("topic"),
		Reason:   q.Get("reason"),
		Consumer: q.Get("consumer"),
		Status:   q.Get("status"),
	}
	if bad := badFilter(map[string]string{"topic": f.Topic, "reason": f.Reason, "consumer": f.Consumer, "status": f.Status}); bad != "" {
		writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, bad+" must be printable text of at most 255 characters")
		return
	}
	if s := q.Get("after"); s != "" {
		after, err := strconv.ParseInt(s, 10, 64)
		if err != nil || after < 0 {
			writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, "after must be a dead letter id")
			return
		}
		f.After = after
	}
	if s := q.Get("limit"); s != "" {
		limit, err := strconv.Atoi(s)
		if err != nil || limit < 1 || limit > 1000 {
			writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, "limit must be between 1 and 1000")
			return
		}
		f.Limit = limit
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	letters, err := h.d.List(r.Context(), f)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	resp := struct {
		DeadLetters []DeadLetter `json:"dead_letters"`
		NextAfter   *int64       `json:"next_after,omitempty"`
	}{DeadLetters: letters}
	if resp.DeadLetters == nil {
		resp.DeadLetters = []DeadLetter{}
	}
	if len(letters) == f.Limit {
		last := letters[len(letters)-1].ID
		resp.NextAfter = &last
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *deadLetterHandler) show(w http.ResponseWriter, r *http.Request, id int64) {
	dl, err := h.d.Get(r.Context(), id)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	audit, err := h.d.Audit(r.Context(), id)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	p := viewPayload(redactForDisplay(dl.Payload))
	writeJSON(w, http.StatusOK, deadLetterView{DeadLetter: dl, Payload: &p, Audit: audit})
}

func (h *deadLetterHandler) replayOne(w http.ResponseWriter, r *http.Request, id int64) {
	if _, err := h.d.Get(r.Context(), id); err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	accepted, err := h.d.Replay(r.Context(), []int64{id}, h.actor(r))
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	writeJSON(w, http.StatusAccepted, replayResponse(accepted))
}

// replayRequest is the body of POST /v1/ops/dlq/replay.
type replayRequest struct {
	IDs      []int64 `json:"ids"`
	All      bool    `json:"all"`
	Topic    string  `json:"topic"`
	Reason   string  `json:"reason"`
	Consumer string  `json:"consumer"`
}

func (h *deadLetterHandler) replayMany(w http.ResponseWriter, r *http.Request) {
	var req replayRequest
	if err := decodeJSONBody(r, &req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, "body must be a JSON object: "+err.Error())
		return
	}
	if bad := badFilter(map[string]string{"topic": req.Topic, "reason": req.Reason, "consumer": req.Consumer}); bad != "" {
		writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, bad+" must be printable text of at most 255 characters")
		return
	}
	var (
		accepted []int64
		err      error
	)
	switch {
	case req.All && len(req.IDs) > 0:
		writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, `give either "ids" or "all", not both`)
		return
	case req.All:
		if req.Topic == "" {
			// Replaying every topic at once is almost never meant.
			writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, `"all" needs a "topic"`)
			return
		}
		accepted, err = h.d.ReplayMatching(r.Context(), DeadLetterFilter{Topic: req.Topic, Reason: req.Reason, Consumer: req.Consumer}, h.actor(r))
	case len(req.IDs) > 0:
		if len(req.IDs) > 1000 {
			writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, "at most 1000 ids per request")
			return
		}
		accepted, err = h.d.Replay(r.Context(), req.IDs, h.actor(r))
	default:
		writeProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, `give "ids" or "all": true with a "topic"`)
		return
	}
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	writeJSON(w, http.StatusAccepted, replayResponse(accepted))
}

func replayResponse(ids []int64) any {
	if ids == nil {
		ids = []int64{}
	}
	return struct {
		Replayed []int64 `json:"replayed"`
		Count    int     `json:"count"`
	}{ids, len(ids)}
}

func (h *deadLetterHandler) purge(w http.ResponseWriter, r *http.Request, id int64) {
	if err := h.d.Purge(r.Context(), id, h.actor(r)); err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// badFilter names the first filter that PostgreSQL could not compare (a NUL
// byte, invalid UTF-8) or that no topic, reason or consumer could match, or "".
func badFilter(filters map[string]string) string {
	for _, name := range []string{"topic", "reason", "consumer", "status"} {
		v := filters[name]
		if len(v) > 255 || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return name
		}
	}
	return ""
}
