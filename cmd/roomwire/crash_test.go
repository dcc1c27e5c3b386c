package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// SIGKILL of serve in the middle of a burst of bookings loses no event: after
// a restart on the same database and broker data, every booking that was
// committed has its reservation.created event on Kafka.
func TestKilledServeLosesNoCommittedBooking(t *testing.T) {
	dbURL := pgtest.URL(t)
	stateDir := t.TempDir()
	kafkaAddr := freeAddr(t)
	env := []string{"ROOMWIRE_STATE_DIR=" + stateDir, "ROOMWIRE_KAFKA_EMBEDDED_ADDR=" + kafkaAddr}
	p := startServe(t, dbURL, env...)
	if code, body := p.json(t, "PUT", "/v1/properties/LIS", `{"name": "Lisbon", "timezone": "Europe/Lisbon", "currency": "EUR",
		"room_types": [{"code": "DBL", "name": "Double", "units": 5000}], "rate_plans": [{"code": "FLEX", "room_type": "DBL", "name": "Flexible"}]}`); code != 201 {
		t.Fatalf("put property: %d %v", code, body)
	}
	if code, body := p.json(t, "PUT", "/v1/properties/LIS/rates", `{"updates": [{"rate_plan": "FLEX", "from": "2027-01-01", "to": "2027-12-31", "amount": "99.00", "currency": "EUR"}]}`); code != 200 {
		t.Fatalf("put rates: %d %v", code, body)
	}

	// 1,000 bookings from 16 clients; serve is killed a third of the way in.
	const total = 1000
	var next, answered atomic.Int64
	var mu sync.Mutex
	confirmed := map[string]bool{}
	killed := make(chan struct{})
	var killOnce sync.Once
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				night := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(i%300))
				body := fmt.Sprintf(`{"property_id": "LIS", "primary_guest": {"surname": "Guest%d"}, "room_stays": [{"room_type": "DBL", "rate_plan": "FLEX",
					"arrival": "%s", "departure": "%s", "adults": 1}]}`, i, night.Format("2006-01-02"), night.AddDate(0, 0, 1).Format("2006-01-02"))
				req, _ := http.NewRequest("POST", "http://"+p.addr+"/v1/reservations", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testAdminKey)
				resp, err := client.Do(req)
				if err != nil {
					continue // the process is gone: this booking may or may not have committed
				}
				var res struct{ ID string }
				json.NewDecoder(resp.Body).Decode(&res)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					confirmed[res.ID] = true
					mu.Unlock()
				}
				if answered.Add(1) == total/3 {
					killOnce.Do(func() {
						p.cmd.Process.Kill()
						close(killed)
					})
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatal("the burst ended before serve was killed")
	}
	<-p.done
	if len(confirmed) == 0 {
		t.Fatal("no booking was confirmed before the kill")
	}

	// Every booking the database committed, confirmed to its client or not.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := conn.Query(ctx, "SELECT id::text FROM reservations")
	committed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range committed {
		want[id] = true
	}
	for id := range confirmed {
		if !want[id] {
			t.Fatalf("reservation %s was confirmed with 201 but is not in the database", id)
		}
	}
	t.Logf("%d bookings confirmed before the kill, %d committed", len(confirmed), len(committed))

	// Restart on the same state; the relay publishes what the kill left behind.
	startServe(t, dbURL, env...)
	kc, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr), kgo.ConsumeTopics(canonical.TopicReservationEvents),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	seen := map[string]bool{}
	deadline := time.Now().Add(90 * time.Second)
	for len(seen) < len(want) {
		if time.Now().After(deadline) {
			var missing []string
			for id := range want {
				if !seen[id] {
					missing = append(missing, id)
				}
			}
			t.Fatalf("%d of %d committed bookings have no reservation.created on Kafka, e.g. %v", len(missing), len(want), missing[:min(3, len(missing))])
		}
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fetches := kc.PollFetches(fctx)
		cancel()
		fetches.EachRecord(func(r *kgo.Record) {
			var e canonical.Event
			if json.Unmarshal(r.Value, &e) == nil && e.Type == canonical.EventReservationCreated && e.Reservation != nil && want[e.Reservation.ID] {
				seen[e.Reservation.ID] = true
			}
		})
	}
}
