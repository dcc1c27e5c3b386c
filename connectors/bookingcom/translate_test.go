package bookingcom_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/bookingcom"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/conformance"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var fixtureNames = []string{"reservations-new.xml", "reservations-modify.xml", "reservations-cancel.xml"}

func goldenOf(t *testing.T, name string) []byte {
	t.Helper()
	msg, err := bookingcom.Translator{}.ToCanonical(fixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got, _ := json.MarshalIndent(msg, "", "  ")
	path := filepath.Join("..", "..", "testdata", "bookingcom", strings.TrimSuffix(name, ".xml")+".canonical.json")
	if *update {
		os.WriteFile(path, append(got, '\n'), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("%s differs from its golden file:\n%s", name, got)
	}
	return want
}

func TestTranslate(t *testing.T) {
	for _, n := range fixtureNames {
		goldenOf(t, n)
	}
	mod, _ := bookingcom.Translator{}.ToCanonical(fixture(t, "reservations-modify.xml"))
	b := mod.Booking
	if b.Action != canonical.ChannelModify || len(b.Reservation.RoomStays) != 2 || b.Reservation.RoomStays[1].ChildrenAges[0] != 11 ||
		b.Reservation.PrimaryGuest.GivenName != "Łukasz" || b.Reservation.Total.Minor != 52800 {
		t.Errorf("modify: %+v", b)
	}
	cancel, _ := bookingcom.Translator{}.ToCanonical(fixture(t, "reservations-cancel.xml"))
	if cancel.Booking.Action != canonical.ChannelCancel {
		t.Errorf("cancel: %s", cancel.Booking.Action)
	}
	// In the new feed a Modify is a new booking (changed before acknowledgement).
	data := strings.Replace(string(fixture(t, "reservations-new.xml")), `ResStatus="Commit"`, `ResStatus="Modify"`, 1)
	msg, err := bookingcom.Translator{}.ToCanonical([]byte(data))
	if err != nil || msg.Booking.Action != canonical.ChannelNew {
		t.Errorf("modify in the new feed: %v %v", err, msg.Booking)
	}
}

func TestConformance(t *testing.T) {
	var fixtures []conformance.Fixture
	for _, n := range fixtureNames {
		fixtures = append(fixtures, conformance.Fixture{Name: n, Partner: fixture(t, n), Golden: goldenOf(t, n)})
	}
	conformance.Run(t, conformance.Setup{
		Name:     bookingcom.Name,
		Fixtures: fixtures,
		// The feed renders every reservation as its new form.
		Mappings: testMappings,
		Property: lisbon,
		Secrets:  []string{password},
		ARI:      conformance.ARICodes{Hotel: "1180204", RoomType: "118020401", RatePlan: "50923412"},
		Start: func(t *testing.T, res connectors.Resources) *conformance.Harness {
			w := newWorld(t)
			conn, err := bookingcom.New(bookingcom.Config{APIURL: serverOf(t, w), Username: "roomwire", Password: password, HTTP: fastHTTP}, res)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &conformance.Harness{
				Connector: conn,
				ARI:       w.sim.ARI,
				Redeliver: func(ctx context.Context, sink connectors.Sink, times int) error {
					w.sim.SetFaults(channelsim.Faults{Duplicates: times})
					w.sim.Book(guestBooking("118020401", "2027-05-01", 2))
					for i := 0; i < times; i++ {
						if err := conn.Poll(ctx, sink); err != nil {
							return err
						}
					}
					return nil
				},
			}
		},
	})
}
