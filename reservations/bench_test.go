package reservations_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// BenchmarkCreate books two-night stays through the store from many
// goroutines, spread over properties and dates as real traffic is.
func BenchmarkCreate(b *testing.B) {
	s := reservations.New(pgtest.Pool(b))
	ctx := context.Background()
	const properties = 20
	for p := 0; p < properties; p++ {
		id := fmt.Sprintf("P%02d", p)
		if _, err := s.PutProperty(ctx, reservations.Property{
			ID: id, Name: id, Timezone: "UTC", Currency: "EUR",
			RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: reservations.MaxUnits}},
			RatePlans: []reservations.RatePlan{{Code: "FLEX", RoomType: "DBL", Name: "Flexible"}},
		}); err != nil {
			b.Fatal(err)
		}
		if err := s.PutRates(ctx, reservations.AllProperties, id, []reservations.RateUpdate{
			{RatePlan: "FLEX", From: date("2027-01-01"), To: date("2027-12-31"), Rate: canonical.Rate{Price: canonical.NewMoney(12000, "EUR")}},
		}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			arrival := date("2027-01-01").AddDays(int(i % 300))
			r := booking("", canonical.RoomStay{RoomType: "DBL", RatePlan: "FLEX", Arrival: arrival, Departure: arrival.AddDays(2), Adults: 2})
			r.PropertyID = fmt.Sprintf("P%02d", i%properties)
			if _, err := s.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: r}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
}
