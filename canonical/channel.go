package canonical

import "time"

// ChannelAction is what a channel says happened to one of its bookings.
type ChannelAction string

// The channel actions.
const (
	ChannelNew    ChannelAction = "new"
	ChannelModify ChannelAction = "modify"
	ChannelCancel ChannelAction = "cancel"
)

// ChannelBooking is a reservation as a channel or PMS delivers it, already
// translated to Roomwire's codes. Reservation.Channel and ExternalID say whose
// booking it is; the store assigns Roomwire's own id, version and status.
type ChannelBooking struct {
	SchemaVersion int           `json:"schema_version"`
	Connector     string        `json:"connector"` // the connector that received it, e.g. "ota"
	Action        ChannelAction `json:"action"`
	// Revision is the channel's stamp of this version of the booking (a
	// modification time or number). A revision already applied changes nothing.
	Revision    string      `json:"revision,omitempty"`
	ReceivedAt  time.Time   `json:"received_at"`
	Reservation Reservation `json:"reservation"`
}

// Validate checks the booking as Reservation.Validate does, and that it names
// its channel's reservation id.
func (b *ChannelBooking) Validate() error {
	var p Problems
	switch b.Action {
	case ChannelNew, ChannelModify, ChannelCancel:
	default:
		p.Add("action", "%q is not one of new, modify, cancel", truncate(string(b.Action), 20))
	}
	p.CheckCode("connector", b.Connector)
	p.CheckText("revision", b.Revision, MaxIDLen)
	if b.Reservation.ExternalID == "" {
		p.Add("reservation.external_id", "is required: the channel's own reservation id")
	}
	r := b.Reservation
	if r.Status == "" {
		r.Status = StatusConfirmed
	}
	if r.Total.IsZero() {
		r.Total, _ = r.SumNightlyPrices() // a channel may leave the total to the nights
	}
	p.Merge("reservation", r.Validate())
	return p.Err()
}
