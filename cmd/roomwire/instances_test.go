package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// lateSim serves a simulator created once serve's address is known (the
// simulator pushes there), behind a server whose address serve's
// configuration names first.
type lateSim struct{ atomic.Pointer[otasim.Sim] }

func (l *lateSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s := l.Load(); s != nil {
		s.ServeHTTP(w, r)
		return
	}
	http.Error(w, "the simulator is not ready", http.StatusServiceUnavailable)
}

// Two OpenTravel channels connected at once, as instances channel-a and
// channel-b of kind ota: each answers at its own endpoint with its own
// credentials, maps its own codes, stamps its own channel on its bookings,
// runs its own consumers and receives the availability its bookings change.
func TestServeRunsTwoOpenTravelChannels(t *testing.T) {
	type channel struct {
		name, password, prefix string
		late                   *lateSim
		srv                    *httptest.Server
		sim                    *otasim.Sim
	}
	chans := []*channel{{name: "channel-a", password: "chan-a-pw-never-logged", prefix: "A"}, {name: "channel-b", password: "chan-b-pw-never-logged", prefix: "B"}}
	dir := t.TempDir()
	var conf, mappings strings.Builder
	conf.WriteString("connectors:\n")
	for _, c := range chans {
		c.late = &lateSim{}
		c.srv = httptest.NewServer(c.late)
		t.Cleanup(c.srv.Close)
		fmt.Fprintf(&conf, "  %s: {kind: ota, inbound_user: %s, inbound_password: %s, ari_url: %s/ari, ari_user: roomwire, ari_password: ari-%s, timeout: 2s}\n",
			c.name, c.name, c.password, c.srv.URL, c.password)
		fmt.Fprintf(&mappings, `%[1]s:
  - {kind: property, partner: %[2]s-LIS, roomwire: LIS}
  - {kind: room_type, property: LIS, partner: %[2]s-DBL, roomwire: DBL}
  - {kind: rate_plan, property: LIS, partner: %[2]s-FLEX, roomwire: FLEX}
`, c.name, c.prefix)
	}
	os.WriteFile(filepath.Join(dir, "mappings.yaml"), []byte(mappings.String()), 0o600)
	fmt.Fprintf(&conf, "mappings_file: %s\nbackbone: {partitions: 2, retries: 3, retry_initial: 20ms, retry_max: 100ms}\n", filepath.Join(dir, "mappings.yaml"))
	cfgPath := filepath.Join(dir, "roomwire.yaml")
	os.WriteFile(cfgPath, []byte(conf.String()), 0o600)

	p := startServe(t, pgtest.URL(t), append(testKafkaEnv(t), "ROOMWIRE_CONFIG="+cfgPath)...)
	for _, c := range chans {
		c.sim = otasim.New(otasim.Config{PushURL: "http://" + p.addr + "/v1/connectors/" + c.name + "/reservations",
			User: c.name, Password: c.password, ARIUser: "roomwire", ARIPassword: "ari-" + c.password})
		c.late.Store(c.sim)
	}
	if code, body := p.json(t, "PUT", "/v1/properties/LIS", `{"name": "Lisbon", "timezone": "Europe/Lisbon", "currency": "EUR",
		"room_types": [{"code": "DBL", "name": "Double", "units": 5}],
		"rate_plans": [{"code": "FLEX", "room_type": "DBL", "name": "Flexible"}]}`); code != 201 {
		t.Fatalf("put property: %d %v", code, body)
	}

	arrival, _ := canonical.ParseDate("2027-06-10")
	booking := func(c *channel) *canonical.Reservation {
		price := canonical.NewMoney(11000, "EUR")
		return &canonical.Reservation{PropertyID: c.prefix + "-LIS", ExternalID: c.prefix + "-1001", Status: canonical.StatusConfirmed,
			PrimaryGuest: canonical.Guest{GivenName: "Rita", Surname: "Costa"}, Total: canonical.NewMoney(22000, "EUR"),
			RoomStays: []canonical.RoomStay{{RoomType: c.prefix + "-DBL", RatePlan: c.prefix + "-FLEX", Arrival: arrival, Departure: arrival.AddDays(2), Adults: 2,
				NightlyPrices: []canonical.NightlyPrice{{Date: arrival, Price: price}, {Date: arrival.AddDays(1), Price: price}}}}}
	}
	ctx := context.Background()
	for _, c := range chans {
		res, err := c.sim.Push(ctx, "Commit", booking(c))
		if err != nil || res.Status != http.StatusOK || res.RS.Success == nil {
			t.Fatalf("%s: push answered %d %+v (%v)", c.name, res.Status, res.RS, err)
		}
		if _, ok := c.sim.Acks.Reference(c.prefix + "-1001"); !ok {
			t.Errorf("%s: no confirmation reference in the answer", c.name)
		}
	}
	// Channel A's credentials open channel A's door only.
	wrong := otasim.New(otasim.Config{PushURL: "http://" + p.addr + "/v1/connectors/channel-b/reservations", User: "channel-a", Password: chans[0].password})
	if res, err := wrong.Push(ctx, "Commit", booking(chans[1])); err != nil || res.Status != http.StatusUnauthorized {
		t.Errorf("channel A's credentials at channel B's door: %d (%v), want 401", res.Status, err)
	}

	for _, c := range chans {
		eventually(t, c.name+"'s booking is applied under its channel", func() bool {
			_, body := p.json(t, "GET", "/v1/reservations?channel="+c.name, "")
			items, _ := body["items"].([]any)
			return len(items) == 1 && items[0].(map[string]any)["external_id"] == c.prefix+"-1001"
		})
	}
	// Two rooms sold of five: each channel hears three left, in its own codes.
	for _, c := range chans {
		eventually(t, c.name+" receives the availability in its codes", func() bool {
			n, ok := c.sim.ARI.Availability(c.prefix+"-LIS", c.prefix+"-DBL", arrival)
			return ok && n == 3
		})
	}

	_, health := p.json(t, "GET", "/v1/ops/channels", "")
	consumers := map[string]string{}
	for _, x := range health["consumers"].([]any) {
		m := x.(map[string]any)
		consumers[m["consumer"].(string)] = m["connector"].(string)
	}
	for _, c := range chans {
		if got := consumers["ari."+c.name]; got != c.name {
			t.Errorf("consumer ari.%s: connector %q (consumers %v)", c.name, got, consumers)
		}
		if _, ok := consumers["inbound."+c.name]; !ok {
			t.Errorf("no consumer inbound.%s (consumers %v)", c.name, consumers)
		}
		code, body := p.json(t, "GET", "/v1/connectors/"+c.name+"/mappings", "")
		if list, _ := body["mappings"].([]any); code != 200 || len(list) != 3 {
			t.Errorf("%s mappings: %d %v", c.name, code, body)
		}
	}
	if code, _ := p.json(t, "GET", "/v1/connectors/channel-c/mappings", ""); code != 404 {
		t.Errorf("mappings of an instance not configured: %d, want 404", code)
	}
	resp := p.request(t, "GET", "/metrics", nil)
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chans {
		if !strings.Contains(string(metrics), `connector="`+c.name+`"`) {
			t.Errorf("/metrics has no series of connector %s", c.name)
		}
	}
	if strings.Contains(p.log(), chans[0].password) || strings.Contains(p.log(), chans[1].password) {
		t.Error("serve logged a channel's password")
	}
}
