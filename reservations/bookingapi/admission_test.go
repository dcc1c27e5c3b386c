package bookingapi_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// While delivery runs further behind than the bound, booking writes are let
// through fewer at a time and then none: a write that waits past the
// admission wait is refused with 503 unavailable and Retry-After, and
// changes nothing. Reads are never held. Once delivery catches up, writes
// go through again.
func TestBookingWritesWaitWhileDeliveryIsBehind(t *testing.T) {
	var lag atomic.Int64 // nanoseconds
	c := newServerWith(t, bookingapi.Config{AdminKey: adminKey, Admission: bookingapi.WriteAdmission{
		DeliveryLag: func() time.Duration { return time.Duration(lag.Load()) },
		MaxLag:      time.Second,
		MaxWait:     300 * time.Millisecond,
		MaxWrites:   4,
	}})
	setUpProperty(t, c, "LIS", 500)
	first := c.do("POST", "/v1/reservations", bookingBody("LIS", "First"), "Idempotency-Key", "first").expect(t, http.StatusCreated, "")

	lag.Store(int64(5 * time.Second))
	var refused response
	created := 0
	for i := 0; refused.status == 0; i++ {
		if i == 400 {
			t.Fatalf("no write refused in 400 tries while delivery is behind (%d created)", created)
		}
		time.Sleep(10 * time.Millisecond) // the limit follows the lag every 100 ms
		r := c.do("POST", "/v1/reservations", bookingBody("LIS", fmt.Sprintf("Guest%d", i)), "Idempotency-Key", fmt.Sprintf("k%d", i))
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusServiceUnavailable:
			refused = r
		default:
			t.Fatalf("write %d: %d %s", i, r.status, r.raw)
		}
	}
	refused.expect(t, http.StatusServiceUnavailable, bookingapi.CodeUnavailable)
	if refused.header.Get("Retry-After") == "" || refused.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("refusal without Retry-After or not a problem document: %v", refused.header)
	}
	c.do("GET", "/v1/reservations/"+first.body["id"].(string), nil).expect(t, http.StatusOK, "")
	list := c.do("GET", "/v1/reservations?property_id=LIS", nil).expect(t, http.StatusOK, "")
	if n := len(list.body["items"].([]any)); n != created+1 {
		t.Errorf("%d reservations stored, want the %d created: a refused write changed something", n, created+1)
	}

	lag.Store(0)
	for i := 0; ; i++ {
		r := c.do("POST", "/v1/reservations", bookingBody("LIS", "After"), "Idempotency-Key", "after")
		if r.status == http.StatusCreated {
			break
		}
		if r.status != http.StatusServiceUnavailable || i == 20 {
			t.Fatalf("after delivery caught up: %d %s", r.status, r.raw)
		}
	}
}
