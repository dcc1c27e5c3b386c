package bookingapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

// Problem is an RFC 9457 problem document. Code is stable and meant for
// programs; Title and Detail are for people.
type Problem struct {
	Type   string                 `json:"type"`
	Title  string                 `json:"title"`
	Status int                    `json:"status"`
	Code   string                 `json:"code"`
	Detail string                 `json:"detail,omitempty"`
	Errors []canonical.FieldError `json:"errors,omitempty"`
	// Allowed lists, for a refused status change, the statuses the
	// reservation may move to now (an empty list when none).
	Allowed *[]canonical.Status `json:"allowed,omitempty"`
	// Restriction names the rule a refused stay breaks (code restricted).
	Restriction   *canonical.RestrictionBreach `json:"restriction,omitempty"`
	CorrelationID string                       `json:"correlation_id,omitempty"`
}

// The stable problem codes.
const (
	CodeValidationFailed    = "validation_failed"
	CodeNoAvailability      = "no_availability"
	CodeRestricted          = "restricted"
	CodeVersionConflict     = "version_conflict"
	CodeIdempotencyConflict = "idempotency_conflict"
	CodeUnauthorized        = "unauthorized"
	CodeForbidden           = "forbidden"
	CodeNotFound            = "not_found"
	CodeInvalidState        = "invalid_state"
	CodeConflict            = "conflict"
	CodeInvalidTransition   = "invalid_transition"
	CodeBadRequest          = "bad_request"
	CodePayloadTooLarge     = "payload_too_large"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeTimeout             = "timeout"
	CodeUnavailable         = "unavailable"
	CodeInternal            = "internal"
)

var problemTitles = map[string]string{
	CodeValidationFailed:    "The request is not valid",
	CodeNoAvailability:      "No availability",
	CodeRestricted:          "The stay breaks a restriction of its rate plan",
	CodeVersionConflict:     "The reservation changed since you read it",
	CodeIdempotencyConflict: "Idempotency key reused with a different request",
	CodeUnauthorized:        "Authentication required",
	CodeForbidden:           "Not allowed for this API key",
	CodeNotFound:            "Not found",
	CodeInvalidState:        "Not possible in the reservation's current state",
	CodeConflict:            "Conflict with the resource's current state",
	CodeInvalidTransition:   "The reservation cannot move to that status now",
	CodeBadRequest:          "Bad request",
	CodePayloadTooLarge:     "Request body too large",
	CodeMethodNotAllowed:    "Method not allowed",
	CodeTimeout:             "The request took too long",
	CodeUnavailable:         "Roomwire cannot take this now; try again later",
	CodeInternal:            "Internal error",
}

// WriteProblem writes a problem document with the given status and code.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string, fields ...canonical.FieldError) {
	writeProblem(w, r, Problem{Status: status, Code: code, Detail: detail, Errors: fields})
}

// writeProblem completes p (type, title, correlation id) and writes it.
func writeProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	status := p.Status
	p.Type = "https://roomwire.dev/problems/" + p.Code
	p.Title = problemTitles[p.Code]
	p.CorrelationID = canonical.CorrelationID(r.Context())
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roomwire"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p) //nolint:errcheck // the client went away
}

// writeError answers err as a problem, choosing status and code by its class.
// Unclassified errors are logged and answered without detail.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var v canonical.ValidationError
	var restricted *reservations.RestrictedError
	var maxBytes *http.MaxBytesError
	var te *canonical.TransitionError
	switch {
	case errors.As(err, &te):
		allowed := te.Allowed
		if allowed == nil {
			allowed = []canonical.Status{} // "none" is an answer too
		}
		writeProblem(w, r, Problem{Status: http.StatusConflict, Code: CodeInvalidTransition, Detail: err.Error(), Allowed: &allowed})
	case errors.As(err, &v):
		WriteProblem(w, r, http.StatusUnprocessableEntity, CodeValidationFailed, "Fix the fields listed in errors and send the request again.", v...)
	case errors.As(err, &restricted):
		writeProblem(w, r, Problem{Status: http.StatusConflict, Code: CodeRestricted, Detail: err.Error(), Restriction: &restricted.Breach})
	case errors.Is(err, reservations.ErrNoAvailability):
		WriteProblem(w, r, http.StatusConflict, CodeNoAvailability, err.Error())
	case errors.Is(err, reservations.ErrVersionConflict):
		WriteProblem(w, r, http.StatusPreconditionFailed, CodeVersionConflict, err.Error())
	case errors.Is(err, reservations.ErrIdempotencyConflict):
		WriteProblem(w, r, http.StatusUnprocessableEntity, CodeIdempotencyConflict, err.Error())
	case errors.Is(err, reservations.ErrNotFound):
		WriteProblem(w, r, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, reservations.ErrForbidden):
		WriteProblem(w, r, http.StatusForbidden, CodeForbidden, err.Error())
	case errors.Is(err, reservations.ErrInvalidState):
		WriteProblem(w, r, http.StatusConflict, CodeInvalidState, err.Error())
	case errors.Is(err, reservations.ErrBadCursor):
		WriteProblem(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.As(err, &maxBytes):
		WriteProblem(w, r, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "the body is larger than the limit of this endpoint")
	case errors.Is(err, errBadBody):
		WriteProblem(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		WriteProblem(w, r, http.StatusServiceUnavailable, CodeTimeout, "try again; if it persists, the database may be overloaded")
	default:
		a.logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		WriteProblem(w, r, http.StatusInternalServerError, CodeInternal, "an unexpected error; the correlation id identifies it in the server's log")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
