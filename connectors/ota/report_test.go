package ota_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/conformance"
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
		conformance.DeliverEvents(t, w.pool, w.conn, id, 3)
	}
	if got := w.sim.Reports("OTA-77120"); !reflect.DeepEqual(got, []string{ota.ResStatusNoShow}) {
		t.Errorf("the channel received %v", got)
	}
	if got := w.sim.Reports(""); len(got) != 0 {
		t.Errorf("a direct booking was reported: %v", got)
	}
}
