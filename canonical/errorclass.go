package canonical

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrorClass says what the delivery engine should do with a failed message.
// It is Roomwire's one error taxonomy: connectors classify the outcome of
// their one attempt with it, and the router decides from it whether to
// retry, park or dead-letter.
type ErrorClass int

// The error classes.
const (
	// ClassNone is the class of a nil error.
	ClassNone ErrorClass = iota
	// ClassRetryable: try again later (timeouts, 408, 425, 429, 5xx, an open
	// circuit, a database hiccup). Retries are bounded by the router.
	ClassRetryable
	// ClassPermanent: trying again cannot help until something changes (a
	// partner's 4xx, input that fails validation). The message goes to the
	// dead letters at once.
	ClassPermanent
	// ClassUnmapped: a partner code has no Roomwire counterpart yet.
	// Permanent until someone adds the mapping; then the dead letter replays.
	ClassUnmapped
)

func (c ErrorClass) String() string {
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
	return fmt.Sprintf("ErrorClass(%d)", int(c))
}

// Errors are classified through these small interfaces, found with
// errors.As, so that any package's error types can carry a class without
// importing this one.
type (
	permanentClassifier interface{ Permanent() bool }
	unmappedClassifier  interface{ Unmapped() bool }
)

// classError marks an error with a class.
type classError struct {
	err   error
	class ErrorClass
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

// ClassOf returns the class of err. The outermost explicit mark in the
// chain wins, so a wrapper can reclassify. Unmarked validation errors are
// permanent; every other unmarked error (timeouts, network errors, storage
// hiccups) is retryable.
func ClassOf(err error) ErrorClass {
	if err == nil {
		return ClassNone
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if x, ok := e.(*classError); ok {
			return x.class
		}
		if x, ok := e.(unmappedClassifier); ok && x.Unmapped() {
			return ClassUnmapped
		}
		if x, ok := e.(permanentClassifier); ok {
			if x.Permanent() {
				return ClassPermanent
			}
			return ClassRetryable
		}
		if _, ok := e.(ValidationError); ok {
			return ClassPermanent
		}
	}
	// Chains that branch (errors.Join) are searched in full.
	var u unmappedClassifier
	if errors.As(err, &u) && u.Unmapped() {
		return ClassUnmapped
	}
	var p permanentClassifier
	if errors.As(err, &p) && p.Permanent() {
		return ClassPermanent
	}
	var v ValidationError
	if errors.As(err, &v) {
		return ClassPermanent
	}
	return ClassRetryable
}

// IsRetryable reports whether err is worth retrying.
func IsRetryable(err error) bool { return ClassOf(err) == ClassRetryable }

// IsPermanent reports whether retrying err cannot help: it is permanent or
// names an unmapped code.
func IsPermanent(err error) bool {
	c := ClassOf(err)
	return c == ClassPermanent || c == ClassUnmapped
}

// IsUnmapped reports whether err says a code has no mapping yet.
func IsUnmapped(err error) bool { return ClassOf(err) == ClassUnmapped }

// retryAfterError carries a partner's wish to be retried no sooner than after.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// RetryAfter marks err as retryable no sooner than after, as a partner's 429
// or 503 with Retry-After asks. RetryAfter(nil, d) is nil.
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: after}
}

// RetryDelayHint returns the delay an error asks for, if any (an error in
// its chain with a RetryAfter() time.Duration method).
func RetryDelayHint(err error) (time.Duration, bool) {
	var h interface{ RetryAfter() time.Duration }
	if errors.As(err, &h) {
		return h.RetryAfter(), true
	}
	return 0, false
}

// IsTimeout reports whether err is a timeout of some kind.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
