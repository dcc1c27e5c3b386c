package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/connectors/apaleo"
)

// A booking of two rooms reaches Apaleo through serve as two reservations,
// each with the room's own primary guest; a room added later is added to
// the Apaleo booking, and a room removed has its reservation cancelled,
// nothing dead-lettered.
func TestMultiRoomBookingReachesApaleoThroughServe(t *testing.T) {
	p, sim := serveWithApaleo(t, "")
	room := func(arrival, departure string, guest int) string {
		return fmt.Sprintf(`{"room_type": "DBL", "rate_plan": "FLEX", "arrival": %q, "departure": %q, "adults": 1, "guests": [%d]}`, arrival, departure, guest)
	}
	code, body := p.json(t, "POST", "/v1/reservations", `{"property_id": "LIS", "primary_guest": {"given_name": "Zoë", "surname": "Núñez"},
		"additional_guests": [{"given_name": "Søren", "surname": "Kierkegård"}],
		"room_stays": [`+room("2027-04-10", "2027-04-12", 1)+`, `+room("2027-04-11", "2027-04-13", 0)+`]}`)
	if code != 201 {
		t.Fatalf("book: %d %v", code, body)
	}
	id, confirmation := body["id"].(string), body["confirmation_number"].(string)
	// active lists the booking's Apaleo reservations not cancelled, by arrival, with their primary guest.
	active := func() map[string]string {
		out := map[string]string{}
		for _, r := range sim.Reservations() {
			if r.ExternalCode == confirmation && r.Status != apaleo.StatusCanceled {
				out[r.Arrival[:10]] = r.PrimaryGuest.LastName
			}
		}
		return out
	}
	eventually(t, "both rooms are in Apaleo, each with its own guest", func() bool {
		a := active()
		return len(a) == 2 && a["2027-04-10"] == "Kierkegård" && a["2027-04-11"] == "Núñez"
	})
	if code, body := p.json(t, "PATCH", "/v1/reservations/"+id, `{"room_stays": [`+room("2027-04-10", "2027-04-12", 1)+`, `+
		room("2027-04-11", "2027-04-13", 0)+`, `+room("2027-04-20", "2027-04-22", 0)+`]}`); code != 200 {
		t.Fatalf("add a room: %d %v", code, body)
	}
	eventually(t, "the added room is in Apaleo", func() bool { a := active(); return len(a) == 3 && a["2027-04-20"] == "Núñez" })
	if code, body := p.json(t, "PATCH", "/v1/reservations/"+id, `{"room_stays": [`+room("2027-04-11", "2027-04-13", 0)+`, `+
		room("2027-04-20", "2027-04-22", 0)+`]}`); code != 200 {
		t.Fatalf("remove a room: %d %v", code, body)
	}
	eventually(t, "the removed room is cancelled in Apaleo", func() bool {
		a := active()
		return len(a) == 2 && a["2027-04-10"] == "" && a["2027-04-11"] == "Núñez" && a["2027-04-20"] == "Núñez"
	})
	if listing, _ := runCLI(t, p, "dlq", "list"); strings.Contains(listing, "outbound.apaleo") {
		t.Fatalf("dead-lettered:\n%s", listing)
	}
}
