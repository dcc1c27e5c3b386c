package canonical

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func date(s string) Date {
	v, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want Date
		ok   bool
	}{
		{"2027-04-10", Date{2027, time.April, 10}, true},
		{"2027-01-01", Date{2027, time.January, 1}, true},
		{"2027-12-31", Date{2027, time.December, 31}, true},
		{"2028-02-29", Date{2028, time.February, 29}, true}, // leap year
		{"2000-02-29", Date{2000, time.February, 29}, true}, // divisible by 400
		{"0001-01-01", Date{1, time.January, 1}, true},
		{"9999-12-31", Date{9999, time.December, 31}, true},
		{"2027-02-29", Date{}, false}, // not a leap year
		{"2100-02-29", Date{}, false}, // divisible by 100, not 400
		{"2027-02-30", Date{}, false},
		{"2027-04-31", Date{}, false},
		{"2027-13-01", Date{}, false},
		{"2027-00-10", Date{}, false},
		{"2027-04-00", Date{}, false},
		{"2027-4-10", Date{}, false},
		{"2027-04-1", Date{}, false},
		{"27-04-10", Date{}, false},
		{"20270410", Date{}, false},
		{"2027/04/10", Date{}, false},
		{"10.04.2027", Date{}, false},
		{"2027-04-10T00:00:00Z", Date{}, false},
		{" 2027-04-10", Date{}, false},
		{"2027-04-10 ", Date{}, false},
		{"+2027-04-10", Date{}, false},
		{"-001-04-10", Date{}, false},
		{"", Date{}, false},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if !tt.ok {
			if err == nil {
				t.Errorf("ParseDate(%q) = %v, want an error", tt.in, got)
			} else if !strings.Contains(err.Error(), "is not a date in the form YYYY-MM-DD") {
				t.Errorf("ParseDate(%q) error = %q, want it to name the form", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDate(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.in {
			t.Errorf("ParseDate(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestParseDateShortensLongInput(t *testing.T) {
	_, err := ParseDate(strings.Repeat("9", 1000))
	if err == nil || len(err.Error()) > 100 {
		t.Fatalf("ParseDate of 1000 bytes: error %q, want a short one", err)
	}
}

func TestDateOf(t *testing.T) {
	// The date in the time's own zone, not in UTC: 23:30 in New York is already
	// the next day in UTC.
	ny := time.FixedZone("EST", -5*3600)
	if got, want := DateOf(time.Date(2027, 3, 1, 23, 30, 0, 0, ny)), date("2027-03-01"); got != want {
		t.Fatalf("DateOf = %v, want %v", got, want)
	}
}

func TestDateAddDays(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2027-04-10", 0, "2027-04-10"},
		{"2027-04-10", 1, "2027-04-11"},
		{"2027-04-30", 1, "2027-05-01"},
		{"2027-12-31", 1, "2028-01-01"},
		{"2028-02-28", 1, "2028-02-29"},
		{"2027-02-28", 1, "2027-03-01"},
		{"2028-03-01", -1, "2028-02-29"},
		{"2027-01-01", -1, "2026-12-31"},
		{"2027-01-01", 365, "2028-01-01"},
		{"2028-01-01", 366, "2029-01-01"},
		{"2027-03-28", 1, "2027-03-29"}, // a European DST change does not matter
		{"2027-04-10", -3650, "2017-04-12"},
	}
	for _, tt := range tests {
		if got := date(tt.from).AddDays(tt.n); got != date(tt.want) {
			t.Errorf("%s.AddDays(%d) = %v, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}

func TestDateDaysUntil(t *testing.T) {
	tests := []struct {
		from, to string
		want     int
	}{
		{"2027-04-10", "2027-04-10", 0},
		{"2027-04-10", "2027-04-11", 1},
		{"2027-04-11", "2027-04-10", -1},
		{"2027-04-10", "2027-04-13", 3},
		{"2028-02-28", "2028-03-01", 2},
		{"2027-02-28", "2027-03-01", 1},
		{"2027-01-01", "2028-01-01", 365},
		{"2028-01-01", "2029-01-01", 366},
		{"2027-12-30", "2028-01-02", 3},
		// Far apart dates must not saturate at the 292 years a Duration holds.
		{"0001-01-01", "9999-12-31", 3652058},
		{"9999-12-31", "0001-01-01", -3652058},
	}
	for _, tt := range tests {
		if got := date(tt.from).DaysUntil(date(tt.to)); got != tt.want {
			t.Errorf("%s.DaysUntil(%s) = %d, want %d", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestDateCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"2027-04-10", "2027-04-10", 0},
		{"2027-04-10", "2027-04-11", -1},
		{"2027-05-01", "2027-04-30", 1},
		{"2026-12-31", "2027-01-01", -1},
		{"2028-01-01", "2027-12-31", 1},
	}
	for _, tt := range tests {
		a, b := date(tt.a), date(tt.b)
		if got := a.Compare(b); got != tt.want {
			t.Errorf("%s.Compare(%s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := a.Before(b); got != (tt.want < 0) {
			t.Errorf("%s.Before(%s) = %v", tt.a, tt.b, got)
		}
		if got := a.After(b); got != (tt.want > 0) {
			t.Errorf("%s.After(%s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestNights(t *testing.T) {
	tests := []struct {
		arrival, departure string
		want               []string
	}{
		{"2027-04-10", "2027-04-13", []string{"2027-04-10", "2027-04-11", "2027-04-12"}},
		{"2027-04-10", "2027-04-11", []string{"2027-04-10"}},
		{"2028-02-28", "2028-03-02", []string{"2028-02-28", "2028-02-29", "2028-03-01"}},
		{"2027-12-31", "2028-01-02", []string{"2027-12-31", "2028-01-01"}},
		{"2027-04-10", "2027-04-10", nil},
		{"2027-04-13", "2027-04-10", nil},
	}
	for _, tt := range tests {
		got := Nights(date(tt.arrival), date(tt.departure))
		if len(got) != len(tt.want) {
			t.Errorf("Nights(%s, %s) = %v, want %v", tt.arrival, tt.departure, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != date(tt.want[i]) {
				t.Errorf("Nights(%s, %s)[%d] = %v, want %s", tt.arrival, tt.departure, i, got[i], tt.want[i])
			}
		}
		stay := RoomStay{Arrival: date(tt.arrival), Departure: date(tt.departure)}
		if n := len(stay.Nights()); n != len(tt.want) {
			t.Errorf("RoomStay.Nights() has %d nights, want %d", n, len(tt.want))
		}
	}
}

func TestDateJSON(t *testing.T) {
	type stay struct {
		Arrival Date `json:"arrival"`
	}
	b, err := json.Marshal(stay{date("2028-02-29")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"arrival":"2028-02-29"}`; string(b) != want {
		t.Fatalf("json.Marshal = %s, want %s", b, want)
	}

	tests := []struct {
		in      string
		want    Date
		wantErr string
	}{
		{`{"arrival":"2027-04-10"}`, date("2027-04-10"), ""},
		{`{"arrival":"2028-02-29"}`, date("2028-02-29"), ""},
		{`{}`, Date{}, ""},
		{`{"arrival":"2027-02-30"}`, Date{}, `"2027-02-30" is not a date in the form YYYY-MM-DD`},
		{`{"arrival":"2027-02-29"}`, Date{}, `"2027-02-29" is not a date`},
		{`{"arrival":"2027-04-10T12:00:00Z"}`, Date{}, "is not a date"},
		{`{"arrival":20270410}`, Date{}, "cannot unmarshal number"},
	}
	for _, tt := range tests {
		var got stay
		err := json.Unmarshal([]byte(tt.in), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("json.Unmarshal(%s) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Arrival != tt.want {
			t.Errorf("json.Unmarshal(%s) = %v, %v; want %v", tt.in, got.Arrival, err, tt.want)
		}
	}
}
