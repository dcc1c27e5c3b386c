package router

import (
	"errors"
	"fmt"
	"time"

	"github.com/roomwire/roomwire/canonical"
)

// ErrBreakerOpen is returned (wrapped) when a message was not handed to its
// handler because the circuit breaker of the handler's partner is open. Such a
// message is parked and retried later; it is never dead-lettered for that.
var ErrBreakerOpen = errors.New("router: circuit breaker open")

// Errors are classified by canonical.ClassOf, Roomwire's one error
// taxonomy, which connectors use too: Permanent() bool, Unmapped() bool and
// RetryAfter() time.Duration methods anywhere in an error's chain, and
// canonical.ValidationError (permanent).

// Permanent marks err as permanent: the message is not retried and goes
// straight to the dead-letter topic. Use it for input that can never succeed
// (a malformed payload, a partner's 4xx that names the request as invalid).
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return canonical.Permanent(err)
}

// IsPermanent reports whether retrying err cannot help: it is permanent,
// fails validation, or names an unmapped code (IsUnmapped).
func IsPermanent(err error) bool { return canonical.IsPermanent(err) }

// IsUnmapped reports whether err says a partner code has no mapping yet.
// Such a message is dead-lettered with reason "unmapped" and replays once
// the mapping is added.
func IsUnmapped(err error) bool { return canonical.IsUnmapped(err) }

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// RetryAfter marks err as transient with a minimum delay before the next
// attempt, as a partner's 429 or 503 with Retry-After asks. The retry
// waits at least that long (capped at its maximum interval).
func RetryAfter(err error, after time.Duration) error { return canonical.RetryAfter(err, after) }

// retryDelayHint returns the delay an error asks for, if any.
func retryDelayHint(err error) (time.Duration, bool) { return canonical.RetryDelayHint(err) }
