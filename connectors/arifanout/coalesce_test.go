package arifanout_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/arifanout"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/reservations"
)

// nightLog records, per night, every availability the OTA channel was told
// of DBL, in order.
type nightLog struct {
	mu   sync.Mutex
	told map[canonical.Date][]int
}

func watchOTA(s *stack) *nightLog {
	l := &nightLog{told: map[canonical.Date][]int{}}
	c := channelCodes[ota.Name]
	s.otaSim.ARI.ObserveAvailability(func(hotel, roomType string, night canonical.Date, available int, _ time.Time) {
		if hotel == c[0] && roomType == c[1] {
			l.mu.Lock()
			l.told[night] = append(l.told[night], available)
			l.mu.Unlock()
		}
	})
	return l
}

// neverBackwards fails the test when a night's availability, told to the
// channel, went up: the test only books, so a higher value after a lower
// one is an older value arriving after a newer one (a close-out undone).
func (l *nightLog) neverBackwards(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for night, told := range l.told {
		for i := 1; i < len(told); i++ {
			if told[i] > told[i-1] {
				t.Errorf("%s: the channel was told %v: %d after %d", night, told, told[i], told[i-1])
				break
			}
		}
	}
}

// bookNights books one DBL room at Lisbon for each night, one booking (and
// one availability event) each, from the "direct" channel.
func bookNights(t *testing.T, s *stack, tag string, nights []canonical.Date) {
	t.Helper()
	bookNightsAt(t, s, "LIS", tag, nights)
}

func bookNightsAt(t *testing.T, s *stack, property, tag string, nights []canonical.Date) {
	t.Helper()
	for i, night := range nights {
		r := canonical.Reservation{PropertyID: property, Channel: "direct", ExternalID: fmt.Sprintf("%s-%d", tag, i),
			PrimaryGuest: canonical.Guest{Surname: "Lane"}, Total: canonical.NewMoney(0, "EUR"),
			RoomStays: []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX-DBL", Arrival: night, Departure: night.AddDays(1), Adults: 1}}}
		if _, _, err := s.store.ApplyChannelBooking(context.Background(), canonical.ChannelBooking{Connector: "direct", Action: canonical.ChannelNew, Reservation: r}); err != nil {
			t.Fatal(err)
		}
	}
}

// published waits until the relay has published every outbox event.
func (s *stack) published(t *testing.T) {
	t.Helper()
	eventually(t, "the outbox is published", func() bool {
		var n int
		err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n)
		return err == nil && n == 0
	})
}

// handledAll waits until consumer has recorded every availability event of
// the outbox as handled: none was skipped.
func (s *stack) handledAll(t *testing.T, consumer string) {
	t.Helper()
	eventually(t, consumer+" handled every availability event", func() bool {
		var n int
		err := s.pool.QueryRow(context.Background(), `
			SELECT count(*) FROM outbox o WHERE o.topic = $1
			AND NOT EXISTS (SELECT 1 FROM processed_messages p WHERE p.consumer = $2 AND p.message_id = o.event_id::text)`,
			canonical.TopicAvailabilityEvents, consumer).Scan(&n)
		return err == nil && n == 0
	})
}

// matchesStore reports whether the OTA channel believes, for every night,
// DBL's availability in the store.
func (s *stack) matchesStore(t *testing.T, nights []canonical.Date) bool {
	t.Helper()
	c := channelCodes[ota.Name]
	for _, night := range nights {
		u, err := arifanout.Snapshot(context.Background(), s.store, "LIS", night, night)
		if err != nil {
			t.Fatal(err)
		}
		want := -1
		for _, a := range u.Availability {
			if a.RoomType == "DBL" {
				want = a.Available
			}
		}
		if got, ok := s.otaSim.ARI.Availability(c[0], c[1], night); !ok || got != want {
			return false
		}
	}
	return true
}

// settled waits until the set-up's rates reached the OTA channel.
func (s *stack) settled(t *testing.T) {
	t.Helper()
	c := channelCodes[ota.Name]
	eventually(t, "the set-up's rates reach the OTA channel", func() bool {
		_, ok := s.otaSim.ARI.Rate(c[0], c[1], c[2], date("2028-03-31"))
		return ok
	})
}

// Events waiting in a property's lane while a push is slow coalesce: the
// channel gets far fewer pushes than there were events, the latest value of
// every night, and never an older value after a newer one (a night's 0 left,
// a close-out, is never followed by 1).
func TestSlowChannelGetsFewPushesWithTheLatestValues(t *testing.T) {
	s := newStack(t)
	s.settled(t)
	told := watchOTA(s)
	before := s.fanout.Stats()[ota.Name]

	// Two bookings of each of 24 nights: each night closes (DBL has 2 units).
	var nights []canonical.Date
	for i := range 24 {
		nights = append(nights, date("2027-06-01").AddDays(3*i))
	}
	s.otaGate.close()
	bookNights(t, s, "first", nights)
	bookNights(t, s, "second", nights)
	events := 2 * len(nights)
	s.published(t)
	// Give the consumer a moment to read what was published into its lane.
	time.Sleep(time.Second)
	s.otaGate.open()

	eventually(t, "the OTA channel believes the store's value of every night", func() bool { return s.matchesStore(t, nights) })
	s.handledAll(t, arifanout.ConsumerName(ota.Name))
	after := s.fanout.Stats()[ota.Name]
	pushes, covered := after.Pushes-before.Pushes, after.Covered-before.Covered
	t.Logf("%d events: %d pushes, %d events covered by another's push, %d found nothing new", events, pushes, covered, after.Coalesced-before.Coalesced)
	if pushes > int64(events/4) {
		t.Errorf("%d pushes for %d events waiting behind a slow push", pushes, events)
	}
	if covered < int64(events/2) {
		t.Errorf("only %d of %d events were covered by another's push", covered, events)
	}
	told.neverBackwards(t)
	// The other channels, not slow, got the same values.
	for _, n := range nights {
		if !s.believes(0, n.String()) {
			t.Errorf("%s: not every channel believes DBL is closed", n)
		}
	}
}

// A hub stopped right after the channel answered a push that covered
// waiting events, before some or all of them were acknowledged: the next
// hub, remembering nothing of it, handles every event (none skipped), and
// the channel ends with the store's values, never told an older value
// after a newer one.
func TestHubStoppedAfterCoalescedPushSkipsNothing(t *testing.T) {
	s := newStack(t)
	s.settled(t)
	told := watchOTA(s)

	var nights []canonical.Date
	for i := range 20 {
		nights = append(nights, date("2027-09-01").AddDays(2*i))
	}
	s.otaGate.close()
	bookNights(t, s, "first", nights)
	s.published(t)
	time.Sleep(time.Second)
	// The push held at the gate covers what already waited behind it when
	// it was read; if the relay handed the events over one by one, the
	// next push covers the rest. Stop the hub as soon as a push that
	// covered waiting events has been answered.
	s.otaGate.open()
	eventually(t, "a push covered waiting events", func() bool { return s.fanout.Stats()[ota.Name].Covered > 0 })
	s.stop()
	first := s.fanout.Stats()[ota.Name]
	t.Logf("first hub: %d pushes, %d events covered by another's push", first.Pushes, first.Covered)

	// The second bookings close every night while no hub runs; then a new
	// hub, with no memory of the first's pushes, takes over.
	bookNights(t, s, "second", nights)
	s.stop = s.start(t)
	eventually(t, "the OTA channel believes the store's value of every night", func() bool { return s.matchesStore(t, nights) })
	s.handledAll(t, arifanout.ConsumerName(ota.Name))
	if !s.matchesStore(t, nights) {
		t.Error("after every event was handled, the channel's values are not the store's")
	}
	told.neverBackwards(t)
}

// Pushes of different properties to one channel run side by side: while
// the channel holds one property's push, the other's reaches it too.
func TestPropertiesPushToAChannelSideBySide(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	porto := lisbon
	porto.ID, porto.Name = "OPO", "Roomwire Demo Porto"
	if _, err := s.store.PutProperty(ctx, porto); err != nil {
		t.Fatal(err)
	}
	if err := s.store.PutRates(ctx, reservations.AllProperties, "OPO", []reservations.RateUpdate{
		{RatePlan: "FLEX-DBL", From: date("2027-11-01"), To: date("2027-11-30"), Rate: canonical.Rate{Price: canonical.NewMoney(9900, "EUR")}}}); err != nil {
		t.Fatal(err)
	}
	c := channelCodes[ota.Name]
	if err := s.res.Mappings.Replace(ctx, ota.Name, []connectors.Mapping{
		{Kind: connectors.KindProperty, Partner: c[0], Roomwire: "LIS"},
		{Kind: connectors.KindRoomType, Property: "LIS", Partner: c[1], Roomwire: "DBL"},
		{Kind: connectors.KindRatePlan, Property: "LIS", Partner: c[2], Roomwire: "FLEX-DBL"},
		{Kind: connectors.KindProperty, Partner: "HTL-OPO-01", Roomwire: "OPO"},
		{Kind: connectors.KindRoomType, Property: "OPO", Partner: c[1], Roomwire: "DBL"},
		{Kind: connectors.KindRatePlan, Property: "OPO", Partner: c[2], Roomwire: "FLEX-DBL"},
	}); err != nil {
		t.Fatal(err)
	}
	s.settled(t)
	s.published(t)
	s.handledAll(t, arifanout.ConsumerName(ota.Name))

	night := []canonical.Date{date("2027-11-02")}
	s.otaGate.close()
	bookNightsAt(t, s, "LIS", "lis", night)
	bookNightsAt(t, s, "OPO", "opo", night)
	eventually(t, "both properties' pushes wait at the channel at once", func() bool { return s.otaGate.holding() == 2 })
	s.otaGate.open()
	eventually(t, "the channel believes one DBL left at both", func() bool {
		lis, _ := s.otaSim.ARI.Availability(c[0], c[1], night[0])
		opo, _ := s.otaSim.ARI.Availability("HTL-OPO-01", c[1], night[0])
		return lis == 1 && opo == 1
	})
}
