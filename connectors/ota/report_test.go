package ota_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/reservations"
)

// TestNoShowIsReportedToTheChannel: a no-show of the channel's booking
// reaches it as OTA_HotelResModifyNotifRQ with ResStatus No-show, once under
// 5xx and redelivery; other bookings and other changes are not reported.
func TestNoShowIsReportedToTheChannel(t *testing.T) {
	w := newWorld(t, ota.Config{})
	ctx := context.Background()
	w.store.SetClock(func() time.Time { return time.Date(2027, 4, 10, 20, 0, 0, 0, time.UTC) }) // the arrival day
	book := func(channel, external string) string {
		res, err := w.store.Create(ctx, reservations.AllProperties, reservations.CreateRequest{Reservation: canonical.Reservation{
			PropertyID: "LIS", Channel: channel, ExternalID: external, PrimaryGuest: canonical.Guest{Surname: "Costa"},
			RoomStays: []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: date("2027-04-10"), Departure: date("2027-04-11"), Adults: 1,
				NightlyPrices: []canonical.NightlyPrice{{Date: date("2027-04-10"), Price: eur(10000)}}}},
		}, AllowOverbooking: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.store.Update(ctx, reservations.AllProperties, res.Reservation.ID, reservations.UpdateOptions{}, func(r *canonical.Reservation) error {
			r.Status = canonical.StatusNoShow
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return res.Reservation.ID
	}
	mine, other := book(ota.Name, "OTA-77120"), book("direct", "")
	w.sim.SetFaults(channelsim.Faults{ErrorRate: 0.3})
	for _, id := range []string{mine, other} {
		rows, err := w.store.Pool().Query(ctx, `SELECT payload FROM outbox WHERE reservation_id = $1 AND topic = $2 ORDER BY id`, id, canonical.TopicReservationEvents)
		if err != nil {
			t.Fatal(err)
		}
		var events []canonical.Event
		for rows.Next() {
			var p []byte
			var e canonical.Event
			if err := rows.Scan(&p); err != nil || json.Unmarshal(p, &e) != nil {
				t.Fatal(err)
			}
			events = append(events, e)
		}
		rows.Close()
		for _, e := range events {
			for i := 0; i < 3; i++ {
				for attempt := 0; ; attempt++ {
					err := w.conn.HandleEvent(ctx, e)
					if err == nil {
						break
					}
					if !connectors.IsRetryable(err) || attempt > 30 {
						t.Fatalf("%s: %v", e.Type, err)
					}
				}
			}
		}
	}
	if got := w.sim.Reports("OTA-77120"); !reflect.DeepEqual(got, []string{ota.ResStatusNoShow}) {
		t.Errorf("the channel received %v", got)
	}
	if got := w.sim.Reports(""); len(got) != 0 {
		t.Errorf("a direct booking was reported: %v", got)
	}
}
