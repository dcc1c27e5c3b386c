package connectors_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

var testRoot = xml.Name{Space: "urn:test", Local: "Doc"}

func TestDecodeXML(t *testing.T) {
	var v struct {
		A string `xml:"A"`
	}
	root, err := connectors.DecodeXML([]byte(`<?xml version="1.0"?><!-- hi --><Doc xmlns="urn:test"><A>ü</A></Doc>`+"\n"), &v, testRoot)
	if err != nil || root != testRoot || v.A != "ü" {
		t.Fatalf("%v %v %q", root, err, v.A)
	}
	for _, tc := range []struct{ name, data, want string }{
		{"empty", "  ", "empty input"},
		{"doctype", `<!DOCTYPE Doc><Doc xmlns="urn:test"/>`, "DTDs"},
		{"entity declaration", `<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Doc xmlns="urn:test">&x;</Doc>`, "DTDs"},
		{"undeclared entity", `<Doc xmlns="urn:test">&x;</Doc>`, "malformed XML"},
		{"wrong root", `<Other xmlns="urn:test"/>`, "root element is <Other>"},
		{"wrong namespace", `<Doc xmlns="urn:other"/>`, "namespace urn:other"},
		{"no namespace", `<Doc/>`, "(no namespace)"},
		{"truncated", `<Doc xmlns="urn:test"><A>`, "truncated"},
		{"deep", `<Doc xmlns="urn:test">` + strings.Repeat("<A>", 40) + strings.Repeat("</A>", 40) + `</Doc>`, "nested deeper"},
		{"two roots", `<Doc xmlns="urn:test"/><Doc xmlns="urn:test"/>`, "after the document's root"},
		{"trailing text", `<Doc xmlns="urn:test"/>junk`, "outside the root"},
		{"not utf-8", `<?xml version="1.0" encoding="ISO-8859-1"?><Doc xmlns="urn:test"/>`, "ISO-8859-1"},
		{"oversized", `<Doc xmlns="urn:test">` + strings.Repeat("a", connectors.MaxMessageBytes) + `</Doc>`, "at most"},
		{"json", `{"a": 1}`, "outside the root"},
	} {
		_, err := connectors.DecodeXML([]byte(tc.data), &v, testRoot)
		if err == nil || !strings.Contains(err.Error(), tc.want) || connectors.ClassOf(err) != connectors.ClassPermanent || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// An XML document Roomwire cannot read is described in XML's terms, never
// in those of Go's decoder.
func TestDecodeXMLSpeaksXML(t *testing.T) {
	var v struct {
		A string `xml:"A"`
	}
	for _, tc := range []struct{ name, data, want string }{
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><Doc xmlns="urn:test"/>`, `declares encoding "ISO-8859-1"; send it in UTF-8`},
		{"utf-16", `<?xml version="1.0" encoding="UTF-16"?><Doc xmlns="urn:test"/>`, `declares encoding "UTF-16"; send it in UTF-8`},
		{"xml 1.1", `<?xml version="1.1"?><Doc xmlns="urn:test"/>`, `declares version "1.1"; only XML 1.0 is accepted`},
		{"bytes that are not utf-8", "<Doc xmlns=\"urn:test\"><A>\xe9</A></Doc>", "UTF-8"},
	} {
		_, err := connectors.DecodeXML([]byte(tc.data), &v, testRoot)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
			continue
		}
		if g := hasGoInternals(err.Error()); g != "" {
			t.Errorf("%s: the error speaks Go (%q): %v", tc.name, g, err)
		}
	}
}

func TestCardGuard(t *testing.T) {
	if got, ok := connectors.MaskCard("card 4111-1111-1111-1111 and 5555 5555 5555 4444"); !ok || got != "card XXXXXXXXXXXX1111 and XXXXXXXXXXXX4444" {
		t.Errorf("%q", got)
	}
	if got := connectors.CardMask("4111XXXXXXXX1111"); got != "4111XXXXXXXX1111" {
		t.Errorf("a mask changed: %q", got)
	}
	b := canonical.ChannelBooking{Reservation: canonical.Reservation{Comments: []string{"pay with 4111111111111111"}, PrimaryGuest: canonical.Guest{Surname: "Ng"}}}
	if found, err := connectors.GuardBooking(&b, connectors.CardDrop); !found || err != nil || b.Reservation.Comments[0] != "pay with XXXXXXXXXXXX1111" {
		t.Errorf("drop: %v %v %q", found, err, b.Reservation.Comments)
	}
	b.Reservation.Comments[0] = "4111111111111111"
	if _, err := connectors.GuardBooking(&b, connectors.CardRefuse); err == nil || canonical.ContainsCardNumber(err.Error()) || connectors.ClassOf(err) != connectors.ClassPermanent {
		t.Errorf("refuse: %v", err)
	}
}

func TestConfirmationReference(t *testing.T) {
	a := connectors.ConfirmationReference("ota", "HTL-LIS-01", "4105882311")
	if a != connectors.ConfirmationReference("ota", "HTL-LIS-01", "4105882311") || len(a) != 12 || !strings.HasPrefix(a, "RW-") || a[7] != '-' {
		t.Errorf("%q", a)
	}
	if a == connectors.ConfirmationReference("ota", "HTL-LIS-01", "4105882312") {
		t.Error("two bookings, one reference")
	}
}

func TestSplitARI(t *testing.T) {
	var u canonical.ARIUpdate
	for i := 0; i < 5; i++ {
		u.Availability = append(u.Availability, canonical.AvailabilityUpdate{Available: i})
	}
	u.Rates = make([]canonical.RateUpdate, 2)
	parts := connectors.SplitARI(u, 3)
	if len(parts) != 3 || len(parts[0].Availability) != 3 || len(parts[1].Availability) != 2 || len(parts[1].Rates) != 1 || len(parts[2].Rates) != 1 {
		t.Errorf("%+v", parts)
	}
}

// Whatever bytes arrive, DecodeXML gives a value or a permanent error.
func FuzzDecodeXML(f *testing.F) {
	f.Add([]byte(`<Doc xmlns="urn:test"><A>x</A></Doc>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><Doc xmlns="urn:test">&b;</Doc>`))
	f.Add([]byte(`<a:Doc xmlns:a="urn:test"><a:A>1</a:A></a:Doc>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v struct {
			A []string `xml:"A"`
		}
		if _, err := connectors.DecodeXML(data, &v, testRoot); err != nil && connectors.ClassOf(err) != connectors.ClassPermanent {
			t.Fatalf("class %s: %v", connectors.ClassOf(err), err)
		}
	})
}
