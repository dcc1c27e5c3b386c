package canonical

import (
	"fmt"
	"time"
)

// Date is a calendar date with no time of day and no zone: a night of stay is
// the same date wherever it is read. Its JSON form is "2027-04-10".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateLayout is the textual form of a Date.
const DateLayout = "2006-01-02"

// ParseDate parses "2027-04-10". Impossible dates such as 2027-02-30 are refused.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date in the form YYYY-MM-DD", truncate(s, 40))
	}
	return DateOf(t), nil
}

// DateOf returns the date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	default:
		return cmpInt(d.Day, o.Day)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DaysUntil returns the number of nights from d to o (negative if o is earlier).
func (d Date) DaysUntil(o Date) int {
	// Unix seconds rather than a Duration, which saturates after 292 years.
	return int((o.Time().Unix() - d.Time().Unix()) / 86400)
}

// String returns "2027-04-10".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText writes "2027-04-10".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "2027-04-10".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Nights lists every night from arrival up to, not including, departure.
func Nights(arrival, departure Date) []Date {
	n := arrival.DaysUntil(departure)
	if n <= 0 {
		return nil
	}
	out := make([]Date, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, arrival.AddDays(i))
	}
	return out
}
