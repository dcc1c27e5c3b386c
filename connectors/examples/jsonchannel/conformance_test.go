package jsonchannel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/examples/jsonchannel"
	"github.com/roomwire/roomwire/connectors/examples/jsonchannel/jsonchannelsim"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Credentials of the tests; they must never appear in a log or a message.
const (
	inboundPassword = "jc-in-Qm4-never-logged"
	apiKey          = "jc-key-Lp9-never-logged"
)

var mappings = []connectors.Mapping{
	{Kind: connectors.KindProperty, Partner: "H-LIS", Roomwire: "LIS"},
	{Kind: connectors.KindRoomType, Property: "LIS", Partner: "DBL", Roomwire: "DBL"},
	{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "FLEX", Roomwire: "FLEX-DBL"},
}

var lisbon = reservations.Property{
	ID: "LIS", Name: "Roomwire Demo Lisbon", Timezone: "Europe/Lisbon", Currency: "EUR",
	RoomTypes: []reservations.RoomType{{Code: "DBL", Name: "Double", Units: 3}},
	RatePlans: []reservations.RatePlan{{Code: "FLEX-DBL", RoomType: "DBL", Name: "Flexible"}},
}

// testdata is the repository's testdata/jsonchannel: this package lies one
// folder deeper than a shipped connector's, for which
// conformance.ReadFixture does this.
var testdata = filepath.Join("..", "..", "..", "testdata", "jsonchannel")

func readFixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtures reads testdata/jsonchannel: each booking with its golden
// canonical form (run with UPDATE_GOLDEN=1 to write them after a change,
// then read the difference).
func fixtures(t *testing.T) []conformance.Fixture {
	var out []conformance.Fixture
	for _, name := range []string{"booking-new.json", "booking-cancel.json"} {
		partner := readFixture(t, name)
		goldenPath := filepath.Join(testdata, strings.TrimSuffix(name, ".json")+".canonical.json")
		if os.Getenv("UPDATE_GOLDEN") != "" {
			msg, err := jsonchannel.Translator{}.ToCanonical(partner)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.MarshalIndent(msg, "", "  ")
			if err := os.WriteFile(goldenPath, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		golden, err := os.ReadFile(goldenPath)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, conformance.Fixture{Name: name, Partner: partner, Golden: golden})
	}
	return out
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Setup{
		Name:     jsonchannel.Name,
		Fixtures: fixtures(t),
		Mappings: mappings,
		Property: lisbon,
		Secrets:  []string{inboundPassword, apiKey},
		ARI:      conformance.ARICodes{Hotel: "H-LIS", RoomType: "DBL", RatePlan: "FLEX"},
		Start: func(t *testing.T, res connectors.Resources) *conformance.Harness {
			sim := jsonchannelsim.New(jsonchannelsim.Config{APIKey: apiKey})
			simSrv := httptest.NewServer(sim)
			t.Cleanup(simSrv.Close)
			conn, err := jsonchannel.New(jsonchannel.Config{APIURL: simSrv.URL, InboundUser: "channel", InboundPassword: inboundPassword,
				APIKey: apiKey, HTTP: conformance.FastHTTP(2)}, res)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &conformance.Harness{
				Connector: conn,
				ARI:       sim.ARI,
				Redeliver: func(ctx context.Context, sink connectors.Sink, times int) error {
					door := httptest.NewServer(conn.Webhook(sink))
					defer door.Close()
					pusher := jsonchannelsim.New(jsonchannelsim.Config{PushURL: door.URL + "/bookings", User: "channel", Password: inboundPassword})
					var b jsonchannel.Booking
					if err := json.Unmarshal(readFixture(t, "booking-new.json"), &b); err != nil {
						return err
					}
					for i := 0; i < times; i++ {
						status, rp, err := pusher.Push(ctx, b)
						if err != nil || status != 200 || rp.Status != "ok" {
							return fmt.Errorf("delivery %d: %d %+v %v", i+1, status, rp, err)
						}
					}
					return nil
				},
			}
		},
	})
}
