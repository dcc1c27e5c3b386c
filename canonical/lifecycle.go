package canonical

import (
	"fmt"
	"strings"
	"time"
)

// Transition is a change of a reservation's status. An event announcing
// one carries it, so that a consumer acts on the change itself (a check-in,
// a no-show, a no-show undone) rather than guessing it from the status.
type Transition struct {
	From Status `json:"from"`
	To   Status `json:"to"`
}

// Name returns the transition's name as people and partners know it:
// check_in, check_out, no_show, undo_no_show or cancel.
func (t Transition) Name() string {
	switch {
	case t.To == StatusCheckedIn:
		return "check_in"
	case t.To == StatusCheckedOut:
		return "check_out"
	case t.To == StatusNoShow:
		return "no_show"
	case t.From == StatusNoShow && t.To == StatusConfirmed:
		return "undo_no_show"
	case t.To == StatusCancelled:
		return "cancel"
	}
	return string(t.From) + "_to_" + string(t.To)
}

// Stay is what the lifecycle rules read of a reservation: its status, its
// nights and when its status last changed.
type Stay struct {
	Status    Status
	Arrival   Date
	Departure Date
	// Since is when the reservation entered Status (for a no-show, when
	// it was recorded).
	Since time.Time
}

// StayOf returns the lifecycle view of r. A reservation's last change is
// when it entered its status for the statuses that allow no other change.
func StayOf(r *Reservation) Stay {
	return Stay{Status: r.Status, Arrival: r.Arrival(), Departure: r.Departure(), Since: r.ModifiedAt}
}

// statusGraph lists, for each status, the statuses it may move to at some
// time; the clock rules of Lifecycle.refusal narrow them further.
var statusGraph = map[Status][]Status{
	StatusConfirmed: {StatusCheckedIn, StatusNoShow, StatusCancelled},
	StatusCheckedIn: {StatusCheckedOut},
	StatusNoShow:    {StatusConfirmed},
}

// Lifecycle is the reservation state machine with its clock rules:
//
//   - confirmed -> checked_in from the arrival day to the departure day;
//   - checked_in -> checked_out at any time;
//   - confirmed -> no_show from the arrival day until NoShowCutoffDays after it;
//   - no_show -> confirmed (undoing a no-show) within UndoNoShowWithin of it;
//   - confirmed -> cancelled at any time.
//
// Days are calendar days at the property, in its time zone. Checked-out and
// cancelled reservations are final.
type Lifecycle struct {
	// Location is the property's time zone.
	Location *time.Location
	// NoShowCutoffDays: a no-show may be recorded until this many days
	// after the arrival day (inclusive).
	NoShowCutoffDays int
	// UndoNoShowWithin is how long after a no-show it may be undone.
	UndoNoShowWithin time.Duration
}

// LifecycleOf returns the lifecycle rules of a rate plan's policy at a
// property in time zone loc (UTC when nil).
func LifecycleOf(p RatePolicy, loc *time.Location) Lifecycle {
	if loc == nil {
		loc = time.UTC
	}
	return Lifecycle{Location: loc, NoShowCutoffDays: p.NoShowCutoff(), UndoNoShowWithin: p.UndoNoShowWithin()}
}

// Allowed lists the statuses the stay may move to at now, in the order of
// statusGraph.
func (l Lifecycle) Allowed(s Stay, now time.Time) []Status {
	var out []Status
	for _, to := range statusGraph[s.Status] {
		if l.refusal(s, to, now) == "" {
			out = append(out, to)
		}
	}
	return out
}

// Check returns nil when the stay may move to status to at now, else a
// *TransitionError saying why not and what is allowed instead. Staying in
// the same status is always allowed.
func (l Lifecycle) Check(s Stay, to Status, now time.Time) error {
	if s.Status == to {
		return nil
	}
	if why := l.refusal(s, to, now); why != "" {
		return &TransitionError{From: s.Status, To: to, Reason: why, Allowed: l.Allowed(s, now)}
	}
	return nil
}

// refusal says why s may not move to status to at now, or "" when it may.
func (l Lifecycle) refusal(s Stay, to Status, now time.Time) string {
	inGraph := false
	for _, x := range statusGraph[s.Status] {
		inGraph = inGraph || x == to
	}
	if !inGraph {
		if len(statusGraph[s.Status]) == 0 {
			return fmt.Sprintf("a %s reservation is final", s.Status)
		}
		return fmt.Sprintf("a %s reservation cannot become %s", s.Status, to)
	}
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	today := DateOf(now.In(loc))
	switch {
	case s.Status == StatusConfirmed && to == StatusCheckedIn:
		if today.Before(s.Arrival) {
			return fmt.Sprintf("check-in opens on the arrival day, %s; it is %s at the property", s.Arrival, today)
		}
		if today.After(s.Departure) {
			return fmt.Sprintf("the stay ended on %s; it is %s at the property", s.Departure, today)
		}
	case s.Status == StatusConfirmed && to == StatusNoShow:
		last := s.Arrival.AddDays(l.NoShowCutoffDays)
		if today.Before(s.Arrival) {
			return fmt.Sprintf("a no-show can be recorded from the arrival day, %s; it is %s at the property", s.Arrival, today)
		}
		if today.After(last) {
			return fmt.Sprintf("a no-show can be recorded until %s, %d day(s) after arrival; it is %s at the property", last, l.NoShowCutoffDays, today)
		}
	case s.Status == StatusNoShow && to == StatusConfirmed:
		if !s.Since.IsZero() && now.Sub(s.Since) > l.UndoNoShowWithin {
			return fmt.Sprintf("a no-show can be undone within %s of it; it was recorded at %s", l.UndoNoShowWithin, s.Since.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// TransitionError is a status change the lifecycle refuses, with the
// statuses the reservation may move to instead.
type TransitionError struct {
	From, To Status
	Reason   string
	Allowed  []Status
}

func (e *TransitionError) Error() string {
	allowed := make([]string, len(e.Allowed))
	for i, s := range e.Allowed {
		allowed[i] = string(s)
	}
	list := "none"
	if len(allowed) > 0 {
		list = strings.Join(allowed, ", ")
	}
	return fmt.Sprintf("%s -> %s is not allowed: %s (allowed now: %s)", e.From, e.To, e.Reason, list)
}
