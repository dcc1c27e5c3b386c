package canonical

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestLifecycleEveryPair checks every (from, to) pair of statuses at each
// moment that matters: before arrival, on the arrival day, on the last
// no-show day, after it, and after the departure day.
func TestLifecycleEveryPair(t *testing.T) {
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	l := LifecycleOf(RatePolicy{}, lisbon)
	arrival, departure := Date{2027, 4, 10}, Date{2027, 4, 13}
	at := func(d Date, hour int) time.Time {
		return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, lisbon)
	}
	moments := []struct {
		name string
		now  time.Time
		// allowed from confirmed at that moment
		fromConfirmed []Status
	}{
		{"the day before arrival", at(arrival.AddDays(-1), 23), []Status{StatusCancelled}},
		{"arrival day, just after midnight at the property", at(arrival, 0), []Status{StatusCheckedIn, StatusNoShow, StatusCancelled}},
		{"the last day a no-show may be recorded", at(arrival.AddDays(1), 22), []Status{StatusCheckedIn, StatusNoShow, StatusCancelled}},
		{"past the no-show cut-off", at(arrival.AddDays(2), 9), []Status{StatusCheckedIn, StatusCancelled}},
		{"after the departure day", at(departure.AddDays(1), 9), []Status{StatusCancelled}},
	}
	all := []Status{StatusConfirmed, StatusCheckedIn, StatusCheckedOut, StatusCancelled, StatusNoShow}
	for _, m := range moments {
		for _, from := range all {
			// A no-show recorded an hour ago may be undone.
			s := Stay{Status: from, Arrival: arrival, Departure: departure, Since: m.now.Add(-time.Hour)}
			want := map[Status]bool{}
			switch from {
			case StatusConfirmed:
				for _, x := range m.fromConfirmed {
					want[x] = true
				}
			case StatusCheckedIn:
				want[StatusCheckedOut] = true
			case StatusNoShow:
				want[StatusConfirmed] = true
			}
			var wantList []Status
			for _, to := range all {
				if want[to] {
					wantList = append(wantList, to)
				}
			}
			got := l.Allowed(s, m.now)
			if !sameStatuses(got, wantList) {
				t.Errorf("%s, from %s: allowed %v, want %v", m.name, from, got, wantList)
			}
			for _, to := range all {
				err := l.Check(s, to, m.now)
				switch {
				case to == from && err != nil:
					t.Errorf("%s: staying %s refused: %v", m.name, from, err)
				case to != from && want[to] && err != nil:
					t.Errorf("%s: %s -> %s refused: %v", m.name, from, to, err)
				case to != from && !want[to]:
					var te *TransitionError
					if !errors.As(err, &te) {
						t.Errorf("%s: %s -> %s allowed, want refused", m.name, from, to)
						continue
					}
					if te.From != from || te.To != to || te.Reason == "" || !sameStatuses(te.Allowed, wantList) {
						t.Errorf("%s: %s -> %s refusal %+v", m.name, from, to, te)
					}
				}
			}
		}
	}
}

func sameStatuses(a, b []Status) bool {
	set := func(l []Status) map[Status]bool {
		m := map[Status]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	return len(a) == len(b) && reflect.DeepEqual(set(a), set(b))
}

func TestLifecycleUndoNoShowGrace(t *testing.T) {
	since := time.Date(2027, 4, 10, 20, 0, 0, 0, time.UTC)
	s := Stay{Status: StatusNoShow, Arrival: Date{2027, 4, 10}, Departure: Date{2027, 4, 11}, Since: since}
	for _, tt := range []struct {
		policy RatePolicy
		after  time.Duration
		ok     bool
	}{
		{RatePolicy{}, 23 * time.Hour, true},
		{RatePolicy{}, 25 * time.Hour, false},
		{RatePolicy{UndoNoShowHours: 2}, 90 * time.Minute, true},
		{RatePolicy{UndoNoShowHours: 2}, 3 * time.Hour, false},
	} {
		err := LifecycleOf(tt.policy, nil).Check(s, StatusConfirmed, since.Add(tt.after))
		if (err == nil) != tt.ok {
			t.Errorf("undo %v after a no-show with %+v: %v, want ok=%v", tt.after, tt.policy, err, tt.ok)
		}
	}
}

// TestLifecycleTimeZone: the arrival day is the property's, not UTC's.
func TestLifecycleTimeZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	s := Stay{Status: StatusConfirmed, Arrival: Date{2027, 4, 10}, Departure: Date{2027, 4, 11}}
	// 2027-04-09 16:00 UTC is already the 10th in Tokyo, still the 9th in UTC.
	now := time.Date(2027, 4, 9, 16, 0, 0, 0, time.UTC)
	if err := LifecycleOf(RatePolicy{}, tokyo).Check(s, StatusCheckedIn, now); err != nil {
		t.Errorf("Tokyo, arrival day at the property: %v", err)
	}
	if err := LifecycleOf(RatePolicy{}, time.UTC).Check(s, StatusCheckedIn, now); err == nil {
		t.Error("UTC, the day before arrival: check-in allowed")
	}
}

func TestTransitionNames(t *testing.T) {
	for tr, want := range map[Transition]string{
		{StatusConfirmed, StatusCheckedIn}:  "check_in",
		{StatusCheckedIn, StatusCheckedOut}: "check_out",
		{StatusConfirmed, StatusNoShow}:     "no_show",
		{StatusNoShow, StatusConfirmed}:     "undo_no_show",
		{StatusConfirmed, StatusCancelled}:  "cancel",
	} {
		if got := tr.Name(); got != want {
			t.Errorf("%v: %q, want %q", tr, got, want)
		}
	}
}

func TestNoShowFee(t *testing.T) {
	r := &Reservation{
		Total: NewMoney(30000, "EUR"),
		RoomStays: []RoomStay{{Arrival: Date{2027, 4, 10}, Departure: Date{2027, 4, 12}, NightlyPrices: []NightlyPrice{
			{Date: Date{2027, 4, 10}, Price: NewMoney(14000, "EUR")}, {Date: Date{2027, 4, 11}, Price: NewMoney(16000, "EUR")},
		}}},
	}
	for _, tt := range []struct {
		policy RatePolicy
		want   int64
	}{
		{RatePolicy{}, 14000},
		{RatePolicy{FreeCancellationDays: 30}, 14000}, // a no-show has no free period
		{RatePolicy{NoShowFee: FeePercent, NoShowFeePercent: 50}, 15000},
		{RatePolicy{NoShowFee: FeeFull}, 30000},
		{RatePolicy{NoShowFee: FeeNone}, 0},
		{RatePolicy{NonRefundable: true, NoShowFee: FeeNone}, 30000},
	} {
		got, rule, err := tt.policy.NoShowFeeOf(r)
		if err != nil || got != NewMoney(tt.want, "EUR") || rule == "" {
			t.Errorf("%+v: %v %q %v, want %d", tt.policy, got, rule, err, tt.want)
		}
	}
	bad := RatePolicy{NoShowFee: "half", NoShowFeePercent: 5, NoShowCutoffDays: 31, UndoNoShowHours: -1}
	if err := bad.Validate(); err == nil || len(err.(ValidationError)) != 3 {
		t.Errorf("bad no-show policy: %v", err)
	}
}
