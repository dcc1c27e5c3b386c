package connectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/roomwire/roomwire/canonical"
)

// Class says what the hub should do with a failed message. It is decided once,
// here, so that every connector's failures read the same way to the router.
type Class int

// The error classes.
const (
	// ClassNone is the class of a nil error.
	ClassNone Class = iota
	// ClassRetryable: try again later (timeouts, 408, 425, 429, 5xx, an open
	// circuit, a database hiccup). Retries are bounded by the router.
	ClassRetryable
	// ClassPermanent: trying again cannot help until something changes (a 4xx,
	// bad input). The message goes to the dead-letter topic at once.
	ClassPermanent
	// ClassUnmapped: a partner code has no Roomwire counterpart yet. Permanent
	// until someone adds the mapping, then the dead-lettered message replays.
	ClassUnmapped
)

func (c Class) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassRetryable:
		return "retryable"
	case ClassPermanent:
		return "permanent"
	case ClassUnmapped:
		return "unmapped"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// The router recognises classes through these small interfaces, with
// errors.As, so that it need not import this package.
type (
	permanentError interface{ Permanent() bool }
	unmappedError  interface{ Unmapped() bool }
	retryableError interface{ Retryable() bool }
)

// classError marks an error with a class.
type classError struct {
	err   error
	class Class
}

func (e *classError) Error() string   { return e.err.Error() }
func (e *classError) Unwrap() error   { return e.err }
func (e *classError) Permanent() bool { return e.class == ClassPermanent }
func (e *classError) Retryable() bool { return e.class == ClassRetryable }

// Permanent marks err as permanent: retrying cannot help. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &classError{err: err, class: ClassPermanent}
}

// Retryable marks err as retryable, overriding any class it had.
// Retryable(nil) is nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &classError{err: err, class: ClassRetryable}
}

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

// ClassOf returns the class of err. Errors no one classified are retryable,
// as are timeouts and network errors; validation errors are permanent.
func ClassOf(err error) Class {
	if err == nil {
		return ClassNone
	}
	// The outermost explicit mark wins, so a wrapper can reclassify.
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch x := e.(type) {
		case unmappedError:
			if x.Unmapped() {
				return ClassUnmapped
			}
		case *classError:
			return x.class
		}
	}
	var u unmappedError
	if errors.As(err, &u) && u.Unmapped() {
		return ClassUnmapped
	}
	var p permanentError
	if errors.As(err, &p) && p.Permanent() {
		return ClassPermanent
	}
	var v canonical.ValidationError
	if errors.As(err, &v) {
		return ClassPermanent
	}
	return ClassRetryable
}

// IsRetryable reports whether err is worth retrying.
func IsRetryable(err error) bool { return ClassOf(err) == ClassRetryable }

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
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
