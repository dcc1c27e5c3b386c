package apaleo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// HandleEvent writes a reservation event to Apaleo: a reservation Apaleo does
// not have yet is booked, one it has is amended or cancelled. The partner ids
// are kept against Roomwire's, with the version Apaleo has, so a redelivered
// or stale event does nothing. Reservations that came from Apaleo are not
// sent back.
func (c *Connector) HandleEvent(ctx context.Context, e canonical.Event) error {
	switch e.Type {
	case canonical.EventReservationCreated, canonical.EventReservationModified, canonical.EventReservationCancelled:
	default:
		return nil // availability, rates and overbooking alerts are not Apaleo's to hear
	}
	r := e.Reservation
	if r == nil {
		return connectors.Permanent(fmt.Errorf("apaleo: event %s (%s) carries no reservation", e.ID, e.Type))
	}
	if r.Channel == c.Name() {
		return nil // this Apaleo account made it: sending it back would echo forever
	}
	link, err := c.Res.Links.Get(ctx, c.Name(), r.ID)
	switch {
	case errors.Is(err, connectors.ErrNoLink):
		link = nil
	case err != nil:
		return connectors.Retryable(err)
	}
	if link != nil && link.SyncedVersion >= r.Version {
		return nil // Apaleo already has this version or a later one
	}
	set, err := c.Res.Mappings.Set(ctx, c.Name())
	if err != nil {
		return connectors.Retryable(err)
	}
	if !c.owns(set, r.PropertyID) {
		return nil // another Apaleo account's property
	}
	cancelled := r.Status == canonical.StatusCancelled
	if link == nil && cancelled {
		return nil // never booked in Apaleo, so nothing to cancel
	}
	pr, err := set.ReservationToPartner(r)
	if err != nil {
		return fmt.Errorf("apaleo: reservation %s: %w", r.ID, err)
	}
	switch {
	case link == nil:
		return c.create(ctx, r, pr)
	case cancelled:
		return c.cancel(ctx, r, link)
	case e.Transition != nil:
		return c.transition(ctx, r, link, *e.Transition)
	}
	return c.amend(ctx, r, pr, link)
}

// stayActions are Apaleo's reservation actions for the stay's transitions,
// with the status each leaves the reservation in.
var stayActions = map[string]struct{ action, status string }{
	"check_in":  {"checkin", StatusInHouse},
	"check_out": {"checkout", StatusCheckedOut},
	"no_show":   {"noshow", StatusNoShow},
}

// transition sends a check-in, check-out or no-show to Apaleo as its
// reservation action, when Roomwire is the master of the stay. Apaleo has
// no action to undo a no-show: that is left to its front desk. A repeat the
// action refuses because Apaleo already has the status counts as done.
func (c *Connector) transition(ctx context.Context, r *canonical.Reservation, link *connectors.Link, t canonical.Transition) error {
	name := t.Name()
	act, ok := stayActions[name]
	switch {
	case c.cfg.StayMaster == StayMasterApaleo:
		return c.synced(ctx, r, link, "stay managed in Apaleo; "+name+" not sent")
	case !ok:
		c.Logger.WarnContext(ctx, "Apaleo has no action for this change of status; make it in Apaleo", "reservation_id", r.ID,
			"transition", name, "apaleo_booking", link.PartnerGroupID, "correlation_id", canonical.CorrelationID(ctx))
		return c.synced(ctx, r, link, name+" not sent: Apaleo has no such action")
	}
	for i, id := range link.PartnerIDs {
		h := http.Header{}
		h.Set(connectors.IdempotencyHeader, fmt.Sprintf("roomwire-%s-v%d-%s-%d", r.ID, r.Version, act.action, i))
		err := c.call(ctx, http.MethodPut, "/booking/v1/reservation-actions/"+url.PathEscape(id)+"/"+act.action,
			"/booking/v1/reservation-actions/{id}/"+act.action, h, nil, nil)
		if err != nil && connectors.ClassOf(err) == connectors.ClassPermanent {
			// Apaleo refuses an action whose status it already has (a
			// redelivery after a lost answer, or the front desk was first).
			if got, gerr := c.GetReservation(ctx, id); gerr == nil && got.Status == act.status {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("apaleo: %s %s (reservation %s): %w", act.action, id, r.ID, err)
		}
	}
	return c.synced(ctx, r, link, name+" sent to Apaleo")
}

// IdempotencyKey is the key of the booking request for a reservation. It is
// the reservation id alone, not id and version: if a creation's outcome is
// lost and a later version tries again, Apaleo must still answer with the
// booking the first attempt made.
func IdempotencyKey(reservationID string) string { return "roomwire-" + reservationID + "-create" }

func (c *Connector) create(ctx context.Context, r, pr *canonical.Reservation) error {
	req, err := BookingRequest(pr, c.cfg.ChannelCode)
	if err != nil {
		return err
	}
	h := http.Header{}
	h.Set(connectors.IdempotencyHeader, IdempotencyKey(r.ID))
	var out CreateBookingResult
	if err := c.call(ctx, http.MethodPost, "/booking/v1/bookings", "/booking/v1/bookings", h, req, &out); err != nil {
		return fmt.Errorf("apaleo: book reservation %s: %w", r.ID, err)
	}
	ids := make([]string, 0, len(out.ReservationIDs))
	for _, x := range out.ReservationIDs {
		ids = append(ids, x.ID)
	}
	if out.ID == "" || len(ids) != len(r.RoomStays) {
		return connectors.Permanent(fmt.Errorf("apaleo: book reservation %s: Apaleo answered booking %q with %d reservations for %d rooms",
			r.ID, connectors.SafeText(out.ID, 40), len(ids), len(r.RoomStays)))
	}
	if err := c.Res.Links.Put(ctx, connectors.Link{Connector: c.Name(), ReservationID: r.ID, PartnerGroupID: out.ID,
		PartnerIDs: ids, SyncedVersion: r.Version, Origin: connectors.OriginRoomwire}); err != nil {
		return connectors.Retryable(err) // the retry books again with the same key, and Apaleo answers the same booking
	}
	c.Logger.InfoContext(ctx, "booked in Apaleo", "reservation_id", r.ID, "property", r.PropertyID, "apaleo_booking", out.ID,
		"version", r.Version, "correlation_id", canonical.CorrelationID(ctx))
	return nil
}

func (c *Connector) amend(ctx context.Context, r, pr *canonical.Reservation, link *connectors.Link) error {
	if len(link.PartnerIDs) != len(pr.RoomStays) {
		return c.changeRooms(ctx, r, pr, link)
	}
	for i := range pr.RoomStays {
		if err := c.amendRoom(ctx, r, pr, i, link.PartnerIDs[i]); err != nil {
			return err
		}
	}
	return c.synced(ctx, r, link, "amended in Apaleo")
}

// amendRoom amends Apaleo reservation id to room stay i of pr. An
// amendment carries no guests, so when the channel says who stays in the
// room and Apaleo has someone else as its primary guest, the guests are
// replaced too (PATCH /booking/v1/reservations/{id}).
func (c *Connector) amendRoom(ctx context.Context, r, pr *canonical.Reservation, i int, id string) error {
	h := http.Header{}
	h.Set(connectors.IdempotencyHeader, fmt.Sprintf("roomwire-%s-v%d-amend-%d", r.ID, r.Version, i))
	body := AmendRequest(pr.RoomStays[i], pr.Comments)
	err := c.call(ctx, http.MethodPut, "/booking/v1/reservation-actions/"+url.PathEscape(id)+"/amend",
		"/booking/v1/reservation-actions/{id}/amend", h, body, nil)
	if err != nil {
		return fmt.Errorf("apaleo: amend %s (reservation %s): %w", id, r.ID, err)
	}
	if len(pr.RoomStays[i].Guests) == 0 {
		return nil
	}
	want, err := roomReservation(pr, i, c.cfg.ChannelCode)
	if err != nil {
		return err
	}
	got, err := c.GetReservation(ctx, id)
	if err != nil {
		return fmt.Errorf("apaleo: amend %s (reservation %s): %w", id, r.ID, err)
	}
	if got.PrimaryGuest != nil && sameGuest(*got.PrimaryGuest, want.PrimaryGuest) && len(got.AdditionalGuests) == len(want.AdditionalGuests) {
		return nil
	}
	patch := []PatchOperation{{Op: "replace", Path: "/primaryGuest", Value: want.PrimaryGuest}}
	switch {
	case len(want.AdditionalGuests) > 0:
		patch = append(patch, PatchOperation{Op: "add", Path: "/additionalGuests", Value: want.AdditionalGuests})
	case len(got.AdditionalGuests) > 0:
		patch = append(patch, PatchOperation{Op: "remove", Path: "/additionalGuests"})
	}
	if err := c.call(ctx, http.MethodPatch, "/booking/v1/reservations/"+url.PathEscape(id), "/booking/v1/reservations/{id}", nil, patch, nil); err != nil {
		return fmt.Errorf("apaleo: change the guests of %s (reservation %s): %w", id, r.ID, err)
	}
	return nil
}

// sameGuest reports whether two guests are the same person by name.
func sameGuest(a, b Guest) bool {
	return strings.EqualFold(a.LastName, b.LastName) && strings.EqualFold(a.FirstName, b.FirstName)
}

// changeRooms makes Apaleo's booking hold the rooms of pr when rooms were
// added or removed: Apaleo books one reservation per room, and an
// amendment changes one room only. Each room of pr keeps the Apaleo
// reservation that holds the same stay (else the same rate plan, else any
// left), which is amended; a room left without one is added to the
// booking, and a reservation left without a room is cancelled. Apaleo's
// reservations are read afresh each time, so a repeat after a failure
// half-way does again only what is left: a reservation already cancelled
// holds no room, and an addition is repeated under its idempotency key.
func (c *Connector) changeRooms(ctx context.Context, r, pr *canonical.Reservation, link *connectors.Link) error {
	var held []*Reservation
	for _, id := range link.PartnerIDs {
		got, err := c.GetReservation(ctx, id)
		if err != nil {
			return fmt.Errorf("apaleo: change the rooms of reservation %s: %w", r.ID, err)
		}
		if got.Status != StatusCanceled {
			held = append(held, got)
		}
	}
	kept := matchRooms(pr.RoomStays, held)
	ids := make([]string, len(pr.RoomStays))
	var added []int
	for i, at := range kept {
		if at < 0 {
			added = append(added, i)
			continue
		}
		ids[i] = held[at].ID
		if err := c.amendRoom(ctx, r, pr, i, ids[i]); err != nil {
			return err
		}
	}
	if len(added) > 0 {
		req := AddReservations{}
		for _, i := range added {
			cr, err := roomReservation(pr, i, c.cfg.ChannelCode)
			if err != nil {
				return err
			}
			req.Reservations = append(req.Reservations, cr)
		}
		h := http.Header{}
		h.Set(connectors.IdempotencyHeader, fmt.Sprintf("roomwire-%s-v%d-add", r.ID, r.Version))
		var out ReservationsCreated
		err := c.call(ctx, http.MethodPost, "/booking/v1/bookings/"+url.PathEscape(link.PartnerGroupID)+"/reservations",
			"/booking/v1/bookings/{id}/reservations", h, req, &out)
		if err != nil {
			return fmt.Errorf("apaleo: add %d rooms to booking %s (reservation %s): %w", len(added), link.PartnerGroupID, r.ID, err)
		}
		if len(out.ReservationIDs) != len(added) {
			return connectors.Permanent(fmt.Errorf("apaleo: add rooms to booking %s (reservation %s): Apaleo answered %d reservations for %d rooms",
				link.PartnerGroupID, r.ID, len(out.ReservationIDs), len(added)))
		}
		for j, i := range added {
			ids[i] = out.ReservationIDs[j].ID
		}
	}
	inUse := map[int]bool{}
	for _, at := range kept {
		inUse[at] = true
	}
	for at, h := range held {
		if inUse[at] {
			continue
		}
		if err := c.call(ctx, http.MethodPut, "/booking/v1/reservation-actions/"+url.PathEscape(h.ID)+"/cancel",
			"/booking/v1/reservation-actions/{id}/cancel", nil, nil, nil); err != nil {
			return fmt.Errorf("apaleo: cancel %s, a room no longer booked (reservation %s): %w", h.ID, r.ID, err)
		}
	}
	link.PartnerIDs = ids
	return c.synced(ctx, r, link, fmt.Sprintf("rooms changed in Apaleo: %d added, %d cancelled", len(added), len(held)-len(pr.RoomStays)+len(added)))
}

// matchRooms returns, for each stay, the position in held of the Apaleo
// reservation that keeps it, or -1 when the room is new. A stay takes the
// reservation with the same rate plan, dates and guest counts first, then
// one with the same rate plan, then any left, in order.
func matchRooms(stays []canonical.RoomStay, held []*Reservation) []int {
	out := make([]int, len(stays))
	taken := make([]bool, len(held))
	for i := range out {
		out[i] = -1
	}
	same := func(s canonical.RoomStay, h *Reservation) bool {
		var p canonical.Problems
		return h.RatePlan.ID == s.RatePlan && parseDate(&p, "arrival", h.Arrival) == s.Arrival &&
			parseDate(&p, "departure", h.Departure) == s.Departure && h.Adults == s.Adults && slices.Equal(h.ChildrenAges, s.ChildrenAges)
	}
	samePlan := func(s canonical.RoomStay, h *Reservation) bool { return h.RatePlan.ID == s.RatePlan }
	anyLeft := func(canonical.RoomStay, *Reservation) bool { return true }
	for _, fits := range []func(canonical.RoomStay, *Reservation) bool{same, samePlan, anyLeft} {
		for i, s := range stays {
			if out[i] >= 0 {
				continue
			}
			for at, h := range held {
				if !taken[at] && fits(s, h) {
					out[i], taken[at] = at, true
					break
				}
			}
		}
	}
	return out
}

func (c *Connector) cancel(ctx context.Context, r *canonical.Reservation, link *connectors.Link) error {
	for _, id := range link.PartnerIDs {
		err := c.call(ctx, http.MethodPut, "/booking/v1/reservation-actions/"+url.PathEscape(id)+"/cancel",
			"/booking/v1/reservation-actions/{id}/cancel", nil, nil, nil)
		if err != nil {
			return fmt.Errorf("apaleo: cancel %s (reservation %s): %w", id, r.ID, err)
		}
	}
	return c.synced(ctx, r, link, "cancelled in Apaleo")
}

func (c *Connector) synced(ctx context.Context, r *canonical.Reservation, link *connectors.Link, what string) error {
	link.SyncedVersion = r.Version
	if err := c.Res.Links.Put(ctx, *link); err != nil {
		return connectors.Retryable(err) // amending and cancelling again is harmless
	}
	c.Logger.InfoContext(ctx, what, "reservation_id", r.ID, "property", r.PropertyID, "apaleo_booking", link.PartnerGroupID,
		"version", r.Version, "correlation_id", canonical.CorrelationID(ctx))
	return nil
}

// owns reports whether a Roomwire property is this instance's business.
// With properties configured, only those Apaleo properties are: a hotel
// group with two Apaleo accounts runs two instances, each listing its own.
// Without, every property is, and one with no mapping is dead-lettered as
// unmapped until it has one.
func (c *Connector) owns(set *connectors.MappingSet, property string) bool {
	if len(c.cfg.Properties) == 0 {
		return true
	}
	id, err := set.ToPartner(connectors.KindProperty, "", property)
	return err == nil && slices.Contains(c.cfg.Properties, id)
}
