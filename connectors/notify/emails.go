package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/router"
)

// guestKind is the guest message of an event, if any. A status change
// the hotel made itself (check-in, check-out, no-show and its undoing) is
// news to nobody by e-mail; subscribers hear of it by webhook.
func guestKind(e canonical.Event) string {
	if e.Type == canonical.EventReservationModified && e.Transition != nil {
		return ""
	}
	switch e.Type {
	case canonical.EventReservationCreated:
		return KindGuestConfirmation
	case canonical.EventReservationModified:
		return KindGuestModification
	case canonical.EventReservationCancelled:
		return KindGuestCancellation
	}
	return ""
}

// hotelEvent is the hotel message's key in phrases for an event, if any.
func hotelEvent(e canonical.Event) string {
	if e.Type == canonical.EventReservationModified && e.Transition != nil {
		return ""
	}
	switch e.Type {
	case canonical.EventReservationCreated:
		return "created"
	case canonical.EventReservationModified:
		return "changed"
	case canonical.EventReservationCancelled:
		return "ended"
	}
	return ""
}

// sendEmails sends the guest's e-mail and the hotel's copy of one
// reservation event. Each is sent at most once per event (see sendOnce).
func (n *Service) sendEmails(msg *message.Message) error {
	e, err := decodeEvent(msg)
	if err != nil || e.Reservation == nil {
		return err
	}
	guest, hotel := guestKind(e), hotelEvent(e)
	if guest == "" && hotel == "" {
		return nil
	}
	ctx := msg.Context()
	s, err := n.settings(ctx, e.PropertyID)
	if err != nil {
		return err
	}
	res := e.Reservation
	if guest != "" && s.GuestEmail && res.PrimaryGuest.Email != "" {
		if err := n.email(ctx, e, guest, s.Language, res.PrimaryGuest.Email); err != nil {
			return err
		}
	}
	if hotel != "" && s.HotelEmail != "" {
		if err := n.email(ctx, e, KindHotelNotification, s.Language, s.HotelEmail); err != nil {
			return err
		}
	}
	return nil
}

func (n *Service) email(ctx context.Context, e canonical.Event, kind, language, to string) error {
	r, err := n.render(ctx, e, kind, language)
	if err != nil {
		return err
	}
	return n.sendOnce(ctx, e, kind, func() error {
		return n.mailer.Send(ctx, Mail{To: to, MessageID: MailID(e.ID, kind), Rendered: r})
	})
}

// render fills the property's template of kind for the event.
func (n *Service) render(ctx context.Context, e canonical.Event, kind, language string) (Rendered, error) {
	p, err := n.store.GetProperty(ctx, reservations.AllProperties, e.PropertyID)
	if err != nil {
		return Rendered{}, fmt.Errorf("notify: property %s: %w", e.PropertyID, err)
	}
	t, err := n.templates.find(ctx, e.PropertyID, kind, language)
	if err != nil {
		return Rendered{}, err
	}
	d := messageData(e, kind, t.Language, p.Name)
	out, err := t.render(d)
	if err != nil {
		// A stored template that no longer renders: an operator fixes it
		// and replays.
		return Rendered{}, router.Permanentf("notify: template %s/%s of %s: %w", kind, t.Language, e.PropertyID, err)
	}
	return out, nil
}

func messageData(e canonical.Event, kind, language, propertyName string) MessageData {
	r := e.Reservation
	d := MessageData{Kind: kind, Language: language, ConfirmationNumber: r.ConfirmationNumber, Status: string(r.Status),
		Channel: r.Channel, Total: r.Total.String()}
	d.T = phrases["en"]
	if t, ok := phrases[language]; ok {
		d.T = t
	}
	d.Event = d.T[hotelEvent(e)]
	switch kind {
	case KindGuestModification:
		d.Lead = "modified"
	case KindGuestCancellation:
		d.Lead = "cancelled"
	default:
		d.Lead = "confirmed"
	}
	d.Property.ID, d.Property.Name = e.PropertyID, propertyName
	d.Guest.GivenName, d.Guest.Surname = r.PrimaryGuest.GivenName, r.PrimaryGuest.Surname
	d.Arrival, d.Departure = r.Arrival().String(), r.Departure().String()
	for _, s := range r.RoomStays {
		d.Rooms = append(d.Rooms, RoomData{RoomType: s.RoomType, RatePlan: s.RatePlan,
			Arrival: s.Arrival.String(), Departure: s.Departure.String(), Adults: s.Adults})
		d.Nights = max(d.Nights, len(s.Nights()))
	}
	return d
}

// sendOnce runs send unless the message of this kind for this event was
// sent before, and records it as sent. A redelivered event therefore sends
// nothing; only a crash between the relay's acceptance and the record
// could repeat a message, and then with the same Message-ID.
func (n *Service) sendOnce(ctx context.Context, e canonical.Event, kind string, send func() error) error {
	var sent bool
	err := n.pool.QueryRow(ctx, `INSERT INTO notification_sends (event_id, kind, property_id) VALUES ($1, $2, $3)
		ON CONFLICT (event_id, kind) DO UPDATE SET attempts = notification_sends.attempts + 1
		RETURNING sent_at IS NOT NULL`, e.ID, kind, e.PropertyID).Scan(&sent)
	if err != nil {
		return fmt.Errorf("notify: sends: %w", err)
	}
	if sent {
		n.logger.DebugContext(ctx, "already sent", "kind", kind, "event", e.ID)
		return nil
	}
	if err := send(); err != nil {
		return err
	}
	// Sent: failing now must not send it again, so the record is retried
	// a little and then given up with a warning.
	bg := context.WithoutCancel(ctx)
	for attempt := 0; ; attempt++ {
		_, err := n.pool.Exec(bg, `UPDATE notification_sends SET sent_at = now() WHERE event_id = $1 AND kind = $2`, e.ID, kind)
		if err == nil {
			break
		}
		if attempt == 4 {
			n.logger.WarnContext(ctx, "notification sent but not recorded", "kind", kind, "event", e.ID, "error", err)
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	n.logger.InfoContext(ctx, "notification sent", "kind", kind, "reservation", e.Reservation.ID, "event", e.ID)
	return nil
}

// MailID is the Message-ID (before "@" and the sender's domain) of the
// message of kind for event eventID: the same on every attempt.
func MailID(eventID, kind string) string { return derivedID("mail", eventID, kind) }
