package canonical

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassOf(t *testing.T) {
	base := errors.New("x")
	invalid := ValidationError{{Field: "room_stays[0].arrival", Message: "is not a date"}}
	tests := []struct {
		name string
		err  error
		want ErrorClass
	}{
		{"nil", nil, ClassNone},
		{"unclassified", base, ClassRetryable},
		{"validation error is permanent", fmt.Errorf("apply: %w", invalid), ClassPermanent},
		{"explicit permanent", Permanent(base), ClassPermanent},
		{"retryable wrapping permanent: outermost decides", Retryable(Permanent(base)), ClassRetryable},
		{"permanent wrapping a validation error", Permanent(invalid), ClassPermanent},
		{"timeout", fmt.Errorf("call: %w", context.DeadlineExceeded), ClassRetryable},
		{"retry after", RetryAfter(base, time.Second), ClassRetryable},
		{"joined permanent", errors.Join(base, Permanent(base)), ClassPermanent},
	}
	for _, tt := range tests {
		if got := ClassOf(tt.err); got != tt.want {
			t.Errorf("%s: ClassOf = %s, want %s", tt.name, got, tt.want)
		}
	}
	if d, ok := RetryDelayHint(fmt.Errorf("w: %w", RetryAfter(base, 3*time.Second))); !ok || d != 3*time.Second {
		t.Errorf("RetryDelayHint = %v %v", d, ok)
	}
}
