package router

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// writeProblem answers an RFC 9457 problem document in the booking API's
// shape and vocabulary (bookingapi.Code*), as every Roomwire endpoint does.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	w.Header().Set("Cache-Control", "no-store")
	bookingapi.WriteProblem(w, r, status, code, detail)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps a store error to a problem; internal details are logged,
// not sent.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, "no such resource")
	case errors.Is(err, ErrReplayInProgress):
		writeProblem(w, r, http.StatusConflict, bookingapi.CodeConflict, "a replay of this dead letter is in progress")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
	default:
		logger.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "error", err)
		writeProblem(w, r, http.StatusInternalServerError, bookingapi.CodeInternal, "internal error")
	}
}

// payloadView renders a stored payload for JSON: as JSON when it is, as a
// string when it is text, base64 otherwise.
type payloadView struct {
	Encoding string          `json:"encoding"` // json, text or base64
	JSON     json.RawMessage `json:"json,omitempty"`
	Text     string          `json:"text,omitempty"`
}

func viewPayload(p []byte) payloadView {
	switch {
	case len(p) == 0:
		return payloadView{Encoding: "text"}
	case json.Valid(p):
		return payloadView{Encoding: "json", JSON: json.RawMessage(p)}
	case utf8.Valid(p):
		return payloadView{Encoding: "text", Text: string(p)}
	default:
		return payloadView{Encoding: "base64", Text: base64.StdEncoding.EncodeToString(p)}
	}
}

// decodeJSONBody decodes a small JSON request body strictly.
func decodeJSONBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// splitPath returns the non-empty segments of path after prefix, and
// whether path is under prefix at all.
func splitPath(path, prefix string) ([]string, bool) {
	if path != prefix && !strings.HasPrefix(path, prefix+"/") {
		return nil, false
	}
	rest := strings.Trim(strings.TrimPrefix(path, prefix), "/")
	if rest == "" {
		return nil, true
	}
	return strings.Split(rest, "/"), true
}

func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}
