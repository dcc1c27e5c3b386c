package connectors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

func TestRegisterRefusesBadSpecs(t *testing.T) {
	newFn := func(map[string]any, connectors.Resources) (connectors.Connector, error) { return nil, nil }
	ok := connectors.Spec{Name: "testpartner", Capabilities: []connectors.Capability{connectors.CapPayments}, New: newFn}
	if _, done := connectors.Lookup(ok.Name); !done { // -count=N runs this again
		connectors.Register(ok)
	}
	for name, s := range map[string]connectors.Spec{
		"duplicate":          ok,
		"bad name":           {Name: "Bad Name", Capabilities: ok.Capabilities, New: newFn},
		"no constructor":     {Name: "nonew", Capabilities: ok.Capabilities},
		"unknown capability": {Name: "oddcap", Capabilities: []connectors.Capability{"teleport"}, New: newFn},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			connectors.Register(s)
		}()
	}
}

func TestDecodeConfig(t *testing.T) {
	fields := []connectors.Field{
		{Name: "url", Type: "string", Default: "https://example.com"},
		{Name: "secret", Type: "string", Env: "TEST_CONNECTOR_SECRET", Required: true, Secret: true},
		{Name: "days", Type: "int", Default: "90"},
		{Name: "every", Type: "duration", Default: "15m"},
		{Name: "props", Type: "[]string"},
	}
	type cfg struct {
		URL    string              `json:"url"`
		Secret string              `json:"secret"`
		Days   int                 `json:"days"`
		Every  connectors.Duration `json:"every"`
		Props  []string            `json:"props"`
	}
	t.Setenv("TEST_CONNECTOR_SECRET", "from-env")
	var c cfg
	if err := connectors.DecodeConfig(fields, map[string]any{"days": "30", "props": []any{"LIS", "OPO"}}, &c); err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://example.com" || c.Secret != "from-env" || c.Days != 30 || time.Duration(c.Every) != 15*time.Minute || len(c.Props) != 2 {
		t.Errorf("got %+v", c)
	}
	err := connectors.DecodeConfig(fields, map[string]any{"dayz": 1, "days": "many"}, &c)
	if err == nil || !strings.Contains(err.Error(), "dayz: unknown key") || !strings.Contains(err.Error(), "days") {
		t.Errorf("got %v", err)
	}
}

func TestMappingSet(t *testing.T) {
	list := []connectors.Mapping{
		{Kind: connectors.KindProperty, Partner: "P1", Roomwire: "LIS"},
		{Kind: connectors.KindRoomType, Property: "LIS", Partner: "P1-DBL", Roomwire: "DBL"},
		{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "P1-FLEX", Roomwire: "FLEX"},
		{Kind: connectors.KindStatus, Partner: "OK", Roomwire: "confirmed"},
	}
	if err := connectors.ValidateMappings(list); err != nil {
		t.Fatal(err)
	}
	set := connectors.NewMappingSet("p", list)
	b := canonical.ChannelBooking{Reservation: canonical.Reservation{PropertyID: "P1", Status: "OK",
		RoomStays: []canonical.RoomStay{{RoomType: "P1-DBL", RatePlan: "P1-FLEX"}, {RoomType: "P1-SGL", RatePlan: "P1-NRF"}}}}
	err := set.MapBooking(&b)
	if connectors.ClassOf(err) != connectors.ClassUnmapped || !strings.Contains(err.Error(), `"P1-SGL"`) || !strings.Contains(err.Error(), `"P1-NRF"`) {
		t.Fatalf("got %v; want one unmapped error naming both codes", err)
	}
	r := canonical.Reservation{PropertyID: "LIS", RoomStays: []canonical.RoomStay{{RoomType: "DBL", RatePlan: "FLEX"}}}
	pr, err := set.ReservationToPartner(&r)
	if err != nil || pr.PropertyID != "P1" || pr.RoomStays[0].RatePlan != "P1-FLEX" || r.RoomStays[0].RatePlan != "FLEX" {
		t.Errorf("reverse: %+v %v (original %+v)", pr, err, r)
	}

	bad := []connectors.Mapping{
		{Kind: "hotel", Partner: "x", Roomwire: "y"},
		{Kind: connectors.KindRoomType, Partner: "x", Roomwire: "y"},
		{Kind: connectors.KindStatus, Partner: "x", Roomwire: "sleeping"},
		{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "a", Roomwire: "FLEX"},
		{Kind: connectors.KindRatePlan, Property: "LIS", Partner: "b", Roomwire: "FLEX"},
	}
	err = connectors.ValidateMappings(bad)
	for _, want := range []string{"mappings[0].kind", "mappings[1].property", "mappings[2].roomwire", "mappings[4].roomwire"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validation %v does not name %s", err, want)
		}
	}
}
