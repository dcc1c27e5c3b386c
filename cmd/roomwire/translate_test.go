package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
)

func apaleoFixture(t *testing.T, name string) string {
	return filepath.Join("..", "..", "testdata", "apaleo", name)
}

func TestTranslateApaleoReservation(t *testing.T) {
	var out bytes.Buffer
	err := runTranslate(context.Background(), []string{"--connector", "apaleo", "--mappings", apaleoFixture(t, "mappings.yaml"),
		apaleoFixture(t, "reservation-canceled-children.json")}, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	var b canonical.ChannelBooking
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		t.Fatalf("output is not a canonical booking: %v\n%s", err, out.String())
	}
	r := b.Reservation
	s := r.RoomStays[0]
	if r.PropertyID != "LIS" || r.Status != canonical.StatusCancelled || s.RoomType != "SGL" || s.RatePlan != "FLEX-SGL" ||
		s.Arrival.String() != "2027-05-01" || s.Departure.String() != "2027-05-03" || len(s.ChildrenAges) != 2 ||
		r.Total != canonical.NewMoney(19650, "EUR") || r.PrimaryGuest.Surname != "Pereira" {
		t.Errorf("translated: %s", out.String())
	}

	// The reference reservation from standard input, with default mappings only.
	out.Reset()
	ref, _ := os.ReadFile(apaleoFixture(t, "reservation.json"))
	if err := runTranslate(context.Background(), []string{"--connector", "apaleo", "-"}, bytes.NewReader(ref), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"arrival": "2027-04-10"`, `"departure": "2027-04-12"`, `"room_type": "LIS-DBL"`, `"rate_plan": "LIS-FLEX-DBL"`,
		`"status": "confirmed"`, `"surname": "Silva"`, `"amount": "286.00"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %s", want)
		}
	}

	// And back to Apaleo's form.
	var rev bytes.Buffer
	if err := runTranslate(context.Background(), []string{"--connector", "apaleo", "--reverse"}, bytes.NewReader(out.Bytes()), &rev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rev.String(), `"ratePlanId": "LIS-FLEX-DBL"`) || !strings.Contains(rev.String(), `"arrival": "2027-04-10"`) {
		t.Errorf("reverse: %s", rev.String())
	}
}

func TestTranslateRefusesBadInputInOneLine(t *testing.T) {
	ref, _ := os.ReadFile(apaleoFixture(t, "reservation.json"))
	tests := []struct{ name, in, want string }{
		{"truncated", string(ref[:300]), "truncated"},
		{"mistyped", strings.Replace(string(ref), `"adults": 2`, `"adults": "2"`, 1), "line 13, column 16: field adults"},
		{"empty", "", "empty input"},
		{"not json", "<OTA_HotelResNotifRQ/>", "malformed JSON"},
		{"deep", strings.Repeat("[", 100000), "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "in.json")
			os.WriteFile(path, []byte(tt.in), 0o644)
			var stdout, stderr bytes.Buffer
			code := run([]string{"translate", "--connector", "apaleo", path}, &stdout, &stderr)
			msg := stderr.String()
			if code != 1 || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, path) {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line naming the file and %q", code, msg, tt.want)
			}
			if strings.Contains(msg, "goroutine") || strings.Contains(msg, "panic") {
				t.Errorf("stack trace: %s", msg)
			}
		})
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"translate", "--connector", "nosuch", "x"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no connector") {
		t.Errorf("unknown connector: exit %d %q", code, stderr.String())
	}
}
