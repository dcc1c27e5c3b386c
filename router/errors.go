package router

import (
	"errors"
	"fmt"
	"time"
)

// ErrBreakerOpen is returned (wrapped) when a message was not handed to its
// handler because the circuit breaker of the handler's partner is open. Such a
// message is parked and retried later; it is never dead-lettered for that.
var ErrBreakerOpen = errors.New("router: circuit breaker open")

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// Errors are classified through these small interfaces, found with
// errors.As, so that the connector SDK's error classes (and anyone else's)
// work without the router importing them. The outermost error in the chain
// that implements one decides.
type (
	permanentClassifier interface{ Permanent() bool }
	unmappedClassifier  interface{ Unmapped() bool }
)

// Permanent marks err as permanent: the message is not retried and goes
// straight to the dead-letter topic. Use it for input that can never succeed
// (a malformed payload, a partner's 4xx that names the request as invalid).
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	if IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err is permanent: the outermost error in its
// chain with a Permanent() bool method says true (as Permanent's wrapper
// does), or it reports an unmapped code (IsUnmapped).
func IsPermanent(err error) bool {
	if IsUnmapped(err) {
		return true
	}
	var p permanentClassifier
	return errors.As(err, &p) && p.Permanent()
}

// IsUnmapped reports whether err says a partner code has no mapping yet
// (an error in its chain with Unmapped() bool returning true). Such a
// message is dead-lettered with reason "unmapped" and replays once the
// mapping is added.
func IsUnmapped(err error) bool {
	var u unmappedClassifier
	return errors.As(err, &u) && u.Unmapped()
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// retryAfterError carries a partner's wish to be retried no sooner than after.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// RetryAfter marks err as transient with a minimum delay before the next
// attempt, as a partner's 429 or 503 with Retry-After asks. The retry
// middleware waits at least that long (capped at its maximum interval).
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: after}
}

// retryDelayHint returns the delay an error asks for, if any.
func retryDelayHint(err error) (time.Duration, bool) {
	var h interface{ RetryAfter() time.Duration }
	if errors.As(err, &h) {
		return h.RetryAfter(), true
	}
	return 0, false
}
