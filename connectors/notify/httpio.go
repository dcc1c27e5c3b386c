package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// maxRequestBody bounds the JSON bodies of the notification endpoints.
const maxRequestBody = 256 << 10

// decodeBody reads one JSON object of v's shape, refusing unknown fields.
// The error is a validation error naming the field, or says what is wrong.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var p canonical.Problems
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			p.Add(typeErr.Field, "has the wrong JSON type (%s)", typeErr.Value)
			return p.Err()
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%w: the body is empty; send a JSON object", errBadRequest)
		}
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return err
		}
		return fmt.Errorf("%w: the body is not the JSON this endpoint expects: %v", errBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: the body must hold one JSON object and nothing after it", errBadRequest)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

// writeError answers err as an RFC 9457 problem by its class; anything
// unclassified is logged and answered as an internal error without detail.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var v canonical.ValidationError
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &v):
		bookingapi.WriteProblem(w, r, http.StatusUnprocessableEntity, bookingapi.CodeValidationFailed, "some fields are not valid", v...)
	case errors.As(err, &maxBytes):
		bookingapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, bookingapi.CodePayloadTooLarge, err.Error())
	case errors.Is(err, errNotFound):
		bookingapi.WriteProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, err.Error())
	case errors.Is(err, errForbidden):
		bookingapi.WriteProblem(w, r, http.StatusForbidden, bookingapi.CodeForbidden, err.Error())
	case errors.Is(err, errBadRequest):
		bookingapi.WriteProblem(w, r, http.StatusBadRequest, bookingapi.CodeBadRequest, err.Error())
	default:
		logger.ErrorContext(r.Context(), "notification request failed", "path", r.URL.Path, "error", err)
		bookingapi.WriteProblem(w, r, http.StatusInternalServerError, bookingapi.CodeInternal, "")
	}
}

var (
	errNotFound   = errors.New("not found")
	errForbidden  = errors.New("outside this API key's scope")
	errBadRequest = errors.New("bad request")
)

// scopeOf returns the calling key's property scope.
func scopeOf(r *http.Request) (bookingapi.Principal, reservations.Scope) {
	p, _ := bookingapi.PrincipalFrom(r.Context())
	return p, p.Scope
}

// requireProperty checks that the caller may act for property id.
func requireProperty(r *http.Request, id string) error {
	if _, scope := scopeOf(r); !scope.Allows(id) {
		return fmt.Errorf("property %q is %w", id, errForbidden)
	}
	return nil
}
