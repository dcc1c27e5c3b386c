package ota_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/conformance"
	"github.com/roomwire/roomwire/connectors/ota"
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
		Start: func(t *testing.T, res connectors.Resources) *conformance.Harness {
			conn, err := ota.New(ota.Config{InboundUser: "channel", InboundPassword: inboundPassword, HTTP: fastHTTP}, res)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &conformance.Harness{
				Connector: conn,
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
