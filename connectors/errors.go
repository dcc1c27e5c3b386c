package connectors

import (
	"fmt"
	"time"

	"github.com/roomwire/roomwire/canonical"
)

// Class is the error class of Roomwire's one error taxonomy
// (canonical.ErrorClass): a connector makes one attempt per call and says
// with it what kind of failure it was; the router decides what happens next.
type Class = canonical.ErrorClass

// The error classes.
const (
	ClassNone      = canonical.ClassNone
	ClassRetryable = canonical.ClassRetryable
	ClassPermanent = canonical.ClassPermanent
	ClassUnmapped  = canonical.ClassUnmapped
)

// Permanent marks err as permanent: retrying cannot help. Permanent(nil) is nil.
func Permanent(err error) error { return canonical.Permanent(err) }

// Retryable marks err as retryable, overriding any class it had.
// Retryable(nil) is nil.
func Retryable(err error) error { return canonical.Retryable(err) }

// UnmappedError says that a partner (or Roomwire) code has no mapping.
type UnmappedError struct {
	Connector string // may be empty when not known where the error is made
	Kind      Kind   // property, room_type, rate_plan or status
	Property  string // the Roomwire property the code belongs to, if any
	Code      string // the code that has no mapping
	// Outbound is true when a Roomwire code has no partner code, false when
	// a partner code has no Roomwire code.
	Outbound bool
}

// Unmapped returns an error saying that the code of kind has no mapping.
func Unmapped(kind Kind, code string) *UnmappedError {
	return &UnmappedError{Kind: kind, Code: code}
}

func (e *UnmappedError) Error() string {
	who := "partner"
	if e.Connector != "" {
		who = e.Connector
	}
	from, to := who, "Roomwire"
	if e.Outbound {
		from, to = "Roomwire", who
	}
	where := ""
	if e.Property != "" {
		where = " of property " + e.Property
	}
	return fmt.Sprintf("unmapped %s: %s code %q%s has no %s code; add it with PUT /v1/connectors/%s/mappings and replay",
		e.Kind, from, safeText(e.Code, 70), where, to, orName(e.Connector))
}

func orName(s string) string {
	if s == "" {
		return "{name}"
	}
	return s
}

// Unmapped reports true: the router quarantines the message until the mapping exists.
func (e *UnmappedError) Unmapped() bool { return true }

// Permanent reports true: retrying before the mapping exists cannot help.
func (e *UnmappedError) Permanent() bool { return true }

// ClassOf returns the class of err (canonical.ClassOf).
func ClassOf(err error) Class { return canonical.ClassOf(err) }

// IsRetryable reports whether err is worth retrying.
func IsRetryable(err error) bool { return canonical.IsRetryable(err) }

// HTTPError is a partner's answer with a status that is not a success.
type HTTPError struct {
	Partner string
	Method  string
	Route   string // the route template, e.g. /booking/v1/reservation-actions/{id}/amend
	Status  int
	Message string        // the partner's own explanation, redacted
	Wait    time.Duration // from Retry-After, when the partner sent it
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: %s %s: HTTP %d", e.Partner, e.Method, e.Route, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Wait > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.Wait)
	}
	return s
}

// Permanent reports whether the status means retrying cannot help.
func (e *HTTPError) Permanent() bool { return StatusClass(e.Status) == ClassPermanent }

// Retryable reports whether the status means the call may succeed later.
func (e *HTTPError) Retryable() bool { return StatusClass(e.Status) == ClassRetryable }

// RetryAfter is the delay the partner asked for (zero if none); the router's
// retry waits at least that long.
func (e *HTTPError) RetryAfter() time.Duration { return e.Wait }

// StatusClass maps an HTTP status to a class: 408, 425, 429 and 5xx are
// retryable (501 is not: the partner will never implement it in time), other
// 4xx are permanent, and anything else is none.
func StatusClass(status int) Class {
	switch {
	case status == 408, status == 425, status == 429:
		return ClassRetryable
	case status == 501:
		return ClassPermanent
	case status >= 500 && status <= 599:
		return ClassRetryable
	case status >= 400 && status <= 499:
		return ClassPermanent
	case status < 100 || status > 599:
		return ClassRetryable // a broken answer: perhaps a proxy in trouble
	}
	return ClassNone
}

// isTimeout reports whether err is a timeout of some kind.
func isTimeout(err error) bool { return canonical.IsTimeout(err) }
