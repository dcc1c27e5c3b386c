package reservations_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// BenchmarkAnalytics asks for a year of one property's figures, with a year
// of bookings at 200 properties of 10 rooms each in the database (about
// 180,000 reservations, written in SQL for speed: every room has a stay of 1
// to 3 nights starting every 4 days, through five channels, some cancelled
// or no-shows).
func BenchmarkAnalytics(b *testing.B) {
	const properties = 200
	s := reservations.New(pgtest.Pool(b))
	ctx := context.Background()
	for p := range properties {
		id := fmt.Sprintf("P%03d", p)
		if _, err := s.PutProperty(ctx, reservations.Property{
			ID: id, Name: id, Timezone: "Europe/Lisbon", Currency: "EUR",
			RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 6}, {Code: "SGL", Name: "Single", Units: 4}},
			RatePlans: []reservations.RatePlan{{Code: "FLEX", RoomType: "DBL", Name: "Flexible"}, {Code: "SGL-FLEX", RoomType: "SGL", Name: "Single"}},
		}); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	tag, err := s.Pool().Exec(ctx, `
		INSERT INTO reservations (id, confirmation_number, property_id, channel, status, version, arrival, departure,
		                          guest_search, document, created_at, modified_at)
		SELECT id, cn, p, ch, st, 1, a, d, 'guest', jsonb_build_object(
		         'schema_version', 1, 'id', id, 'confirmation_number', cn, 'property_id', p, 'status', st,
		         'channel', ch, 'version', 1, 'created_at', created, 'modified_at', created,
		         'primary_guest', jsonb_build_object('given_name', 'Ana', 'surname', 'Guest'),
		         'room_stays', jsonb_build_array(jsonb_build_object('room_type', rt, 'rate_plan', rp,
		             'arrival', to_char(a, 'YYYY-MM-DD'), 'departure', to_char(d, 'YYYY-MM-DD'), 'adults', 1,
		             'nightly_prices', (SELECT jsonb_agg(jsonb_build_object('date', to_char(n, 'YYYY-MM-DD'),
		                 'price', jsonb_build_object('amount', price, 'currency', 'EUR')))
		                 FROM generate_series(a, d - 1, interval '1 day') n))),
		         'total', jsonb_build_object('amount', ((d - a) * price::numeric)::text, 'currency', 'EUR')),
		       created, created
		FROM (
			SELECT gen_random_uuid() AS id, 'BN' || lpad(to_hex(row_number() OVER ()), 10, '0') AS cn,
			       'P' || lpad(pi::text, 3, '0') AS p,
			       (ARRAY['direct', 'bookingcom', 'expedia', 'ota', 'apaleo'])[1 + h % 5] AS ch,
			       CASE WHEN h % 20 = 0 THEN 'cancelled' WHEN h % 50 = 1 THEN 'no_show' ELSE 'confirmed' END AS st,
			       CASE WHEN u < 6 THEN 'DBL' ELSE 'SGL' END AS rt, CASE WHEN u < 6 THEN 'FLEX' ELSE 'SGL-FLEX' END AS rp,
			       CASE WHEN u < 6 THEN '120.00' ELSE '90.00' END AS price,
			       a, a + 1 + h % 3 AS d, (a - (h % 90) * interval '1 day')::timestamptz AS created
			FROM generate_series(0, $1 - 1) pi, generate_series(0, 9) u, generate_series(0, 90) k,
			     LATERAL (SELECT date '2027-01-01' + 4 * k AS a, abs(hashint4(pi * 100000 + u * 1000 + k)) AS h) x
		) g`, properties)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, "ANALYZE reservations"); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d reservations written in %s", tag.RowsAffected(), time.Since(start).Round(time.Millisecond))
	for _, g := range []reservations.AnalyticsGrouping{reservations.GroupNone, reservations.GroupDay, reservations.GroupChannel, reservations.GroupRoomType} {
		name := string(g)
		if name == "" {
			name = "totals"
		}
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				q := reservations.AnalyticsQuery{PropertyID: fmt.Sprintf("P%03d", i%properties), From: date("2027-01-01"), To: date("2027-12-31"), GroupBy: g}
				a, err := s.Analytics(ctx, reservations.AllProperties, q)
				if err != nil {
					b.Fatal(err)
				}
				if a.Totals.RoomsSold == 0 {
					b.Fatalf("%s: nothing sold", q.PropertyID)
				}
				i++
			}
		})
	}
}
