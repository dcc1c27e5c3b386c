package apaleo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/conformance"
)

func TestConformance(t *testing.T) {
	var fixtures []conformance.Fixture
	for _, name := range []string{"reservation", "reservation-canceled-children"} {
		fixtures = append(fixtures, conformance.Fixture{Name: name, Partner: fixture(t, name+".json"), Golden: fixture(t, name+".canonical.json")})
	}
	conformance.Run(t, conformance.Setup{
		Name:     apaleo.Name,
		Fixtures: fixtures,
		// Apaleo's booking request names rate plans only, and carries no
		// reservation id or status: Apaleo assigns them.
		RoundTripIgnore: []string{"room_type", "status", "external_id"},
		Mappings:        testMappings,
		Property:        lisbon,
		Secrets:         []string{clientSecret, webhookPassword},
		Start:           startHarness,
	})
}

func startHarness(t *testing.T, res connectors.Resources) *conformance.Harness {
	sim := apaleosim.Demo(apaleosim.Config{ClientID: "roomwire", ClientSecret: clientSecret, Seed: 1})
	api := newServer(t, sim)
	cfg := fastHTTP
	cfg.Timeout, cfg.RetryMax = 150*time.Millisecond, 1
	conn, err := apaleo.New(apaleo.Config{APIURL: api, IdentityURL: api, ClientID: "roomwire", ClientSecret: clientSecret,
		WebhookUser: "apaleo", WebhookPassword: webhookPassword, HTTP: cfg}, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	reservationID := "0190d5a2-0000-7000-8000-000000000001"
	return &conformance.Harness{
		Connector: conn,
		SetFault: func(f conformance.Fault) {
			faults := apaleosim.Faults{Status: f.Status, RetryAfter: f.RetryAfter}
			if f.Hang {
				faults.TimeoutRate, faults.HangFor = 1, 2*time.Second
			}
			sim.SetFaults(faults)
		},
		Effects: func() int { return sim.BookingsWithKey(apaleo.IdempotencyKey(reservationID)) },
		Event: func() canonical.Event {
			r := &canonical.Reservation{
				SchemaVersion: 1, ID: reservationID, ConfirmationNumber: "RW-TEST-1", PropertyID: "LIS", Status: canonical.StatusConfirmed,
				Channel: "bookingcom", ExternalID: "4105882311", Version: 1,
				PrimaryGuest: canonical.Guest{GivenName: "Marta", Surname: "Silva"},
				RoomStays: []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: date("2027-04-10"), Departure: date("2027-04-12"), Adults: 2,
					NightlyPrices: []canonical.NightlyPrice{{Date: date("2027-04-10"), Price: canonical.NewMoney(13200, "EUR")}, {Date: date("2027-04-11"), Price: canonical.NewMoney(15400, "EUR")}}}},
				Total:     canonical.NewMoney(28600, "EUR"),
				Guarantee: &canonical.Guarantee{Type: "card", CardToken: "tok_visa", CardMask: "XXXXXXXXXXXX1111"},
			}
			return canonical.Event{SchemaVersion: 1, ID: "ev-1", Type: canonical.EventReservationCreated, PropertyID: "LIS", Reservation: r}
		},
		Redeliver: func(ctx context.Context, sink connectors.Sink, times int) error {
			res, err := sim.CreateBooking(frontDeskBooking("LIS-FLEX-DBL", "2027-04-20", 2))
			if err != nil {
				return err
			}
			for i := 0; i < times; i++ {
				// The same delivery repeated, and a new delivery of the same state.
				for _, id := range []string{"hook-1", fmt.Sprintf("hook-%d", i+2)} {
					body := fmt.Sprintf(`{"topic":"Reservation","type":"created","id":%q,"accountId":"RWDEMO","propertyId":"LIS","data":{"entityId":%q},"timestamp":1}`,
						id, res.ReservationIDs[0].ID)
					if status, err := conn.HandleWebhook(ctx, []byte(body), sink); err != nil || status != 200 {
						return fmt.Errorf("webhook answered %d: %v", status, err)
					}
				}
			}
			return nil
		},
	}
}
