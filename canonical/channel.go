package canonical

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// ChannelAction is what a channel says happened to one of its bookings.
type ChannelAction string

// The channel actions.
const (
	ChannelNew    ChannelAction = "new"
	ChannelModify ChannelAction = "modify"
	ChannelCancel ChannelAction = "cancel"
	// ChannelStatus: the PMS changed the status (a check-in, a check-out, a
	// no-show) of a reservation Roomwire made there. Reservation.ID names
	// Roomwire's reservation; only its status is applied, by the lifecycle.
	ChannelStatus ChannelAction = "status"
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
	case ChannelStatus:
		if b.Reservation.ID == "" {
			p.Add("reservation.id", "is required for a status change: Roomwire's reservation id")
		}
	default:
		p.Add("action", "%q is not one of new, modify, cancel, status", truncate(string(b.Action), 20))
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

// ContentDigest returns a digest of what the channel said: the action, its
// revision and the whole reservation, but not when Roomwire received it. Two
// deliveries of one message share it; a different body under the same
// revision does not, so it is a new change and never taken for a repeat.
func (b *ChannelBooking) ContentDigest() string {
	c := *b
	c.ReceivedAt = time.Time{}
	raw, err := json.Marshal(&c)
	if err != nil {
		// Every field marshals; should one ever not, no two bookings are
		// taken for the same.
		raw = []byte(time.Now().String())
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16])
}

// AppliedRevision is the stamp the store keeps of an applied booking: the
// channel's revision together with the content digest, so that only a repeat
// of the same content counts as already applied.
func (b *ChannelBooking) AppliedRevision() string {
	return b.Revision + "#" + b.ContentDigest()
}
