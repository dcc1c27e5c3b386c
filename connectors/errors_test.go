package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

func TestClassOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want connectors.Class
	}{
		{"nil", nil, connectors.ClassNone},
		{"unclassified", base, connectors.ClassRetryable},
		{"permanent", connectors.Permanent(base), connectors.ClassPermanent},
		{"wrapped permanent", fmt.Errorf("apaleo: %w", connectors.Permanent(base)), connectors.ClassPermanent},
		{"retryable over permanent", connectors.Retryable(connectors.Permanent(base)), connectors.ClassRetryable},
		{"unmapped", connectors.Unmapped(connectors.KindRatePlan, "X"), connectors.ClassUnmapped},
		{"wrapped unmapped", fmt.Errorf("x: %w", connectors.Unmapped(connectors.KindRatePlan, "X")), connectors.ClassUnmapped},
		{"joined unmapped", errors.Join(base, connectors.Unmapped(connectors.KindRoomType, "Y")), connectors.ClassUnmapped},
		{"validation", canonical.ValidationError{{Field: "x", Message: "bad"}}, connectors.ClassPermanent},
		{"deadline", context.DeadlineExceeded, connectors.ClassRetryable},
		{"http 422", &connectors.HTTPError{Status: 422}, connectors.ClassPermanent},
		{"http 404", &connectors.HTTPError{Status: 404}, connectors.ClassPermanent},
		{"http 429", &connectors.HTTPError{Status: 429}, connectors.ClassRetryable},
		{"http 408", &connectors.HTTPError{Status: 408}, connectors.ClassRetryable},
		{"http 425", &connectors.HTTPError{Status: 425}, connectors.ClassRetryable},
		{"http 503", &connectors.HTTPError{Status: 503}, connectors.ClassRetryable},
		{"http 501", &connectors.HTTPError{Status: 501}, connectors.ClassPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := connectors.ClassOf(tt.err); got != tt.want {
				t.Errorf("ClassOf(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

// The router recognises classes through small interfaces, without importing
// this package; these are the ones it may use.
func TestClassesAreRecognisableWithoutTheSDK(t *testing.T) {
	var p interface{ Permanent() bool }
	if !errors.As(fmt.Errorf("x: %w", connectors.Permanent(errors.New("y"))), &p) || !p.Permanent() {
		t.Error("a permanent error does not say Permanent() == true")
	}
	var u interface{ Unmapped() bool }
	err := fmt.Errorf("x: %w", connectors.Unmapped(connectors.KindRatePlan, "LIS-NRF"))
	if !errors.As(err, &u) || !u.Unmapped() {
		t.Error("an unmapped error does not say Unmapped() == true")
	}
	if !errors.As(err, &p) || !p.Permanent() {
		t.Error("an unmapped error must also be permanent, so it is dead-lettered at once")
	}
	var r interface{ Retryable() bool }
	if !errors.As(&connectors.HTTPError{Status: 503}, &r) || !r.Retryable() {
		t.Error("a 503 does not say Retryable() == true")
	}
}

func TestUnmappedErrorNamesTheCode(t *testing.T) {
	e := &connectors.UnmappedError{Connector: "apaleo", Kind: connectors.KindRatePlan, Property: "LIS", Code: "LIS-NRF-DBL"}
	want := `unmapped rate_plan: apaleo code "LIS-NRF-DBL" of property LIS has no Roomwire code; add it with PUT /v1/connectors/apaleo/mappings and replay`
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
}
