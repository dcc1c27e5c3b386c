package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

// runCLI runs the built binary against the hub p serves, with the admin key.
func runCLI(t *testing.T, p *process, args ...string) (string, error) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ROOMWIRE_ADMIN_KEY="+testAdminKey, "ROOMWIRE_URL=http://"+p.addr)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p *process) json(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	resp := p.request(t, method, path, rd)
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// eventually polls cond until it holds, or fails the test after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serveWithUnmappedOTABooking starts serve with an OpenTravel channel and
// property LIS, then has the channel push a booking for its hotel
// HTL-LIS-01, which no mapping names yet. It returns the hub and the answer
// the channel got.
func serveWithUnmappedOTABooking(t *testing.T) (*process, string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "roomwire.yaml")
	os.WriteFile(cfgPath, []byte(`
connectors:
  ota:
    channel: testota
    inbound_user: channel
    inbound_password: channel-secret-123
backbone:
  partitions: 2
`), 0o600)
	p := startServe(t, pgtest.URL(t), append(testKafkaEnv(t), "ROOMWIRE_CONFIG="+cfgPath)...)

	if code, body := p.json(t, "PUT", "/v1/properties/LIS", `{"name": "Lisbon", "timezone": "Europe/Lisbon", "currency": "EUR",
		"room_types": [{"code": "DBL", "name": "Double", "units": 2}], "rate_plans": [{"code": "FLEX", "room_type": "DBL", "name": "Flexible"}]}`); code != 201 {
		t.Fatalf("put property: %d %v", code, body)
	}
	xml, err := os.ReadFile("../../testdata/ota/resnotif-new.xml")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://"+p.addr+"/v1/connectors/ota/reservations", strings.NewReader(string(xml)))
	req.SetBasicAuth("channel", "channel-secret-123")
	req.Header.Set("Content-Type", "application/xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return p, string(reply)
}

// mapOTAHotel adds the mappings the booking of serveWithUnmappedOTABooking lacked.
func mapOTAHotel(t *testing.T, p *process) {
	t.Helper()
	if code, body := p.json(t, "PUT", "/v1/connectors/ota/mappings", `{"mappings": [
		{"kind": "property", "partner": "HTL-LIS-01", "roomwire": "LIS"},
		{"kind": "room_type", "property": "LIS", "partner": "DBL-SEA", "roomwire": "DBL"},
		{"kind": "rate_plan", "property": "LIS", "partner": "FLEX", "roomwire": "FLEX"}]}`); code != 200 {
		t.Fatalf("put mappings: %d %v", code, body)
	}
}

// A channel booking naming a hotel Roomwire has no mapping for is
// dead-lettered with the reason; once the mapping exists, a replay delivers
// it, once.
func TestUnmappedBookingIsDeadLetteredAndReplayedOnce(t *testing.T) {
	// The channel pushes a booking for its hotel HTL-LIS-01, unmapped so far.
	p, reply := serveWithUnmappedOTABooking(t)
	if !strings.Contains(reply, "HTL-LIS-01") {
		t.Fatalf("the channel was not told which code is unmapped: %s", reply)
	}

	var listing string
	eventually(t, "the booking is dead-lettered as unmapped", func() bool {
		listing, _ = runCLI(t, p, "dlq", "list", "--reason", "unmapped")
		return strings.Contains(listing, "inbound.ota")
	})
	fields := strings.Fields(strings.Split(strings.TrimSpace(listing), "\n")[1])
	id := fields[0]
	// Where the message is, per consumer: one dead letter of inbound.ota.
	consumers, err := runCLI(t, p, "dlq", "consumers")
	if err != nil {
		t.Fatalf("dlq consumers: %v\n%s", err, consumers)
	}
	var inboundRow []string
	for _, line := range strings.Split(consumers, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "inbound.ota" {
			inboundRow = f
		}
	}
	// CONSUMER BREAKER IN-FLIGHT LAG PARKED OLDEST-PARKED DEAD ...
	if len(inboundRow) < 7 || inboundRow[4] != "0" || inboundRow[6] != "1" {
		t.Fatalf("dlq consumers does not show inbound.ota's one dead letter:\n%s", consumers)
	}

	// Nothing was half-applied.
	if code, body := p.json(t, "GET", "/v1/reservations?channel=testota", ""); code != 200 || len(body["items"].([]any)) != 0 {
		t.Fatalf("a quarantined booking reached the store: %v", body)
	}

	// The operator adds the mappings, then replays the dead letter, twice.
	mapOTAHotel(t, p)
	for i := 0; i < 2; i++ {
		if out, err := runCLI(t, p, "dlq", "replay", id); err != nil && i == 0 {
			t.Fatalf("dlq replay: %v\n%s", err, out)
		}
	}
	eventually(t, "the replayed booking is stored", func() bool {
		_, body := p.json(t, "GET", "/v1/reservations?channel=testota", "")
		items, _ := body["items"].([]any)
		return len(items) == 1
	})
	eventually(t, "the dead letter is resolved", func() bool {
		out, _ := runCLI(t, p, "dlq", "list", "--status", "resolved")
		return strings.Contains(out, "inbound.ota")
	})
	// A second replay had no second effect.
	time.Sleep(time.Second)
	_, body := p.json(t, "GET", "/v1/reservations?channel=testota", "")
	items := body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["version"] != 1.0 {
		t.Fatalf("after two replays: %v", items)
	}
	res := items[0].(map[string]any)
	// The timeline shows the channel's message coming in and the created
	// event going out; the channel's own reference finds it.
	if !strings.HasPrefix(res["confirmation_number"].(string), "RW-") {
		t.Fatalf("confirmation number %v is not the reference the channel was given", res["confirmation_number"])
	}
	var out string
	eventually(t, "the timeline shows the booking in and its event out", func() bool {
		out, _ = runCLI(t, p, "timeline", res["confirmation_number"].(string))
		return strings.Contains(out, "reservation.created") && strings.Contains(out, "inbound.ota")
	})
	if !strings.Contains(out, "in ") || !strings.Contains(out, "processed") {
		t.Fatalf("timeline:\n%s", out)
	}
}
