package connectors

import (
	"context"
	"errors"
	"fmt"

	"github.com/roomwire/roomwire/canonical"
)

// ARIPusher is an outbound connector that tells its channel Roomwire's
// availability, restrictions and rates. PushARI receives the update already
// in the channel's codes (see ARIToPartner) and must be idempotent: it sets
// values, so sending the same update twice leaves the channel as once.
// The ARI fan-out (connectors/arifanout) drives it.
type ARIPusher interface {
	Connector
	PushARI(ctx context.Context, u canonical.ARIUpdate) error
}

// ErrPropertyNotListed means a channel does not sell a property: no property
// mapping exists for it, so its ARI is not the channel's business.
var ErrPropertyNotListed = errors.New("property not listed on this channel")

// ARIToPartner returns u in the channel's codes. A channel need not sell every
// room type and rate plan of a property, so entries whose room type or rate
// plan has no mapping are left out and counted in skipped; a property with no
// mapping gives ErrPropertyNotListed.
func ARIToPartner(set *MappingSet, u canonical.ARIUpdate) (out canonical.ARIUpdate, skipped int, err error) {
	prop, err := set.ToPartner(KindProperty, "", u.PropertyID)
	if err != nil {
		return out, 0, fmt.Errorf("%w: %s", ErrPropertyNotListed, u.PropertyID)
	}
	out.PropertyID = prop
	code := func(kind Kind, c string) (string, bool) {
		if c == "" {
			return "", true
		}
		p, err := set.ToPartner(kind, u.PropertyID, c)
		return p, err == nil
	}
	for _, a := range u.Availability {
		rt, ok := code(KindRoomType, a.RoomType)
		if !ok || rt == "" {
			skipped++
			continue
		}
		a.RoomType = rt
		out.Availability = append(out.Availability, a)
	}
	for _, r := range u.Restrictions {
		rt, ok1 := code(KindRoomType, r.RoomType)
		rp, ok2 := code(KindRatePlan, r.RatePlan)
		if !ok1 || !ok2 {
			skipped++
			continue
		}
		r.RoomType, r.RatePlan = rt, rp
		out.Restrictions = append(out.Restrictions, r)
	}
	for _, r := range u.Rates {
		rt, ok1 := code(KindRoomType, r.RoomType)
		rp, ok2 := code(KindRatePlan, r.RatePlan)
		if !ok1 || !ok2 || rp == "" {
			skipped++
			continue
		}
		r.RoomType, r.RatePlan = rt, rp
		out.Rates = append(out.Rates, r)
	}
	return out, skipped, nil
}

// SplitARI cuts u into updates of at most max entries each (availability,
// restrictions and rates counted together), keeping their order, for
// channels that limit the size of one message.
func SplitARI(u canonical.ARIUpdate, max int) []canonical.ARIUpdate {
	if max <= 0 {
		max = 1
	}
	var out []canonical.ARIUpdate
	cur := canonical.ARIUpdate{PropertyID: u.PropertyID}
	n := 0
	flush := func() {
		if n > 0 {
			out = append(out, cur)
			cur, n = canonical.ARIUpdate{PropertyID: u.PropertyID}, 0
		}
	}
	for _, a := range u.Availability {
		cur.Availability = append(cur.Availability, a)
		if n++; n == max {
			flush()
		}
	}
	for _, r := range u.Restrictions {
		cur.Restrictions = append(cur.Restrictions, r)
		if n++; n == max {
			flush()
		}
	}
	for _, r := range u.Rates {
		cur.Rates = append(cur.Rates, r)
		if n++; n == max {
			flush()
		}
	}
	flush()
	return out
}

// CheckMapped reports, before delivery, whether every code of b has a
// mapping for connector: nil when so (or when res has no mapping store), the
// unmapped error otherwise. Receivers deliver such a booking all the same,
// so the applier quarantines it in the dead-letter topic until the mapping
// exists, and they tell the partner clearly what is missing.
func CheckMapped(ctx context.Context, res Resources, connector string, b canonical.ChannelBooking) error {
	if res.Mappings == nil {
		return nil
	}
	set, err := res.Mappings.Set(ctx, connector)
	if err != nil {
		return Retryable(err)
	}
	if _, err := set.mapCopy(b); ClassOf(err) == ClassUnmapped {
		return err
	}
	return nil
}

// mapCopy maps a copy of b, leaving b as it is.
func (s *MappingSet) mapCopy(b canonical.ChannelBooking) (canonical.ChannelBooking, error) {
	c := b
	c.Reservation = *b.Reservation.Clone()
	err := s.MapBooking(&c)
	return c, err
}
