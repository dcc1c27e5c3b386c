package ota_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
)

func TestConformance(t *testing.T) {
	var fixtures []conformance.Fixture
	for _, name := range goldenFixtures {
		g, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ota", strings.TrimSuffix(name, ".xml")+".canonical.json"))
		if err != nil {
			t.Fatal(err)
		}
		fixtures = append(fixtures, conformance.Fixture{Name: name, Partner: fixture(t, name), Golden: g})
	}
	conformance.Run(t, conformance.Setup{
		Name:     ota.Name,
		Fixtures: fixtures,
		Mappings: testMappings,
		Property: lisbon,
		Secrets:  []string{inboundPassword, ariPassword},
		ARI:      conformance.ARICodes{Hotel: "HTL-LIS-01", RoomType: "DBL-SEA", RatePlan: "FLEX"},
		Start: func(t *testing.T, res connectors.Resources) *conformance.Harness {
			sim := otasim.New(otasim.Config{ARIUser: "roomwire", ARIPassword: ariPassword})
			simSrv := httptest.NewServer(sim)
			t.Cleanup(simSrv.Close)
			conn, err := ota.New(ota.Config{InboundUser: "channel", InboundPassword: inboundPassword, HTTP: fastHTTP,
				ARIURL: simSrv.URL + "/ari", ARIUser: "roomwire", ARIPassword: ariPassword}, res)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &conformance.Harness{
				Connector: conn,
				ARI:       sim.ARI,
				Redeliver: func(ctx context.Context, sink connectors.Sink, times int) error {
					for i := 0; i < times; i++ {
						if status, rs := conn.HandleResNotif(ctx, fixture(t, "resnotif-new.xml"), sink); status != 200 || rs.Success == nil {
							t.Fatalf("delivery %d: %d %+v", i+1, status, rs.Errors)
						}
					}
					return nil
				},
			}
		},
	})
}
