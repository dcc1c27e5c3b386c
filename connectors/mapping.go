package connectors

import (
	"fmt"
	"sort"
	"unicode"

	"github.com/roomwire/roomwire/canonical"
)

// Kind is the kind of code a mapping translates.
type Kind string

// The mapping kinds.
const (
	KindProperty Kind = "property"
	KindRoomType Kind = "room_type"
	KindRatePlan Kind = "rate_plan"
	KindStatus   Kind = "status"
)

func (k Kind) valid() bool {
	switch k {
	case KindProperty, KindRoomType, KindRatePlan, KindStatus:
		return true
	}
	return false
}

// perProperty reports whether codes of this kind belong to one property.
func (k Kind) perProperty() bool { return k == KindRoomType || k == KindRatePlan }

// Mapping says that a partner code stands for a Roomwire code. Property is the
// Roomwire property a room type or rate plan belongs to, and empty for
// property and status codes.
type Mapping struct {
	Kind     Kind   `json:"kind" yaml:"kind"`
	Property string `json:"property,omitempty" yaml:"property,omitempty"`
	Partner  string `json:"partner" yaml:"partner"`
	Roomwire string `json:"roomwire" yaml:"roomwire"`
}

// ValidateMappings checks a list of mappings and names every problem by its index.
func ValidateMappings(list []Mapping) error {
	var p canonical.Problems
	type key struct {
		k    Kind
		prop string
		code string
	}
	partner, roomwire := map[key]int{}, map[key]int{}
	for i, m := range list {
		f := fmt.Sprintf("mappings[%d]", i)
		if !m.Kind.valid() {
			p.Add(f+".kind", "%q is not one of property, room_type, rate_plan, status", SafeText(string(m.Kind), 30))
			continue
		}
		switch {
		case m.Kind.perProperty() && m.Property == "":
			p.Add(f+".property", "is required for a %s: the Roomwire property the code belongs to", m.Kind)
		case m.Kind.perProperty():
			p.CheckCode(f+".property", m.Property)
		case m.Property != "":
			p.Add(f+".property", "must be empty for a %s mapping", m.Kind)
		}
		checkPartnerCode(&p, f+".partner", m.Partner)
		if m.Kind == KindStatus {
			if !canonical.Status(m.Roomwire).Valid() {
				p.Add(f+".roomwire", "%q is not one of confirmed, cancelled, no_show, checked_in, checked_out", SafeText(m.Roomwire, 30))
			}
		} else {
			p.CheckCode(f+".roomwire", m.Roomwire)
		}
		pk := key{m.Kind, m.Property, m.Partner}
		if j, dup := partner[pk]; dup {
			p.Add(f+".partner", "%s %q is already mapped by mappings[%d]", m.Kind, SafeText(m.Partner, 70), j)
		}
		partner[pk] = i
		rk := key{m.Kind, m.Property, m.Roomwire}
		if j, dup := roomwire[rk]; dup && m.Kind != KindStatus {
			p.Add(f+".roomwire", "%s %q is already the target of mappings[%d]; outbound calls need one partner code for it", m.Kind, m.Roomwire, j)
		}
		roomwire[rk] = i
	}
	return p.Err()
}

func checkPartnerCode(p *canonical.Problems, field, s string) {
	if s == "" {
		p.Add(field, "is required")
		return
	}
	p.CheckText(field, s, canonical.MaxIDLen)
	for _, r := range s {
		if unicode.IsSpace(r) && r != ' ' {
			p.Add(field, "must not contain line breaks or tabs")
			return
		}
	}
}

type mkey struct {
	kind     Kind
	property string
	code     string
}

// MappingSet is one connector's mappings in memory, ready to translate codes
// both ways. It is built per message from the mapping store, so a mapping
// added while a message waits in the dead-letter topic applies on replay.
type MappingSet struct {
	connector string
	in, out   map[mkey]string
	// Lenient lets unmapped codes through unchanged instead of failing, for
	// previews such as `roomwire translate`.
	Lenient bool
}

// NewMappingSet builds a set from lists of mappings; a later list overrides
// an earlier one (stored mappings over a connector's defaults).
func NewMappingSet(connector string, lists ...[]Mapping) *MappingSet {
	s := &MappingSet{connector: connector, in: map[mkey]string{}, out: map[mkey]string{}}
	for _, list := range lists {
		for _, m := range list {
			s.in[mkey{m.Kind, m.Property, m.Partner}] = m.Roomwire
			if _, ok := s.out[mkey{m.Kind, m.Property, m.Roomwire}]; !ok || m.Kind != KindStatus {
				s.out[mkey{m.Kind, m.Property, m.Roomwire}] = m.Partner
			}
		}
	}
	return s
}

// Mappings lists the set's partner-to-Roomwire mappings, sorted.
func (s *MappingSet) Mappings() []Mapping {
	out := make([]Mapping, 0, len(s.in))
	for k, v := range s.in {
		out = append(out, Mapping{Kind: k.kind, Property: k.property, Partner: k.code, Roomwire: v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Property != b.Property {
			return a.Property < b.Property
		}
		return a.Partner < b.Partner
	})
	return out
}

// ToRoomwire returns the Roomwire code for a partner code.
func (s *MappingSet) ToRoomwire(kind Kind, property, code string) (string, error) {
	if v, ok := s.in[mkey{kind, property, code}]; ok {
		return v, nil
	}
	if s.Lenient {
		return code, nil
	}
	return "", &UnmappedError{Connector: s.connector, Kind: kind, Property: property, Code: code}
}

// ToPartner returns the partner's code for a Roomwire code.
func (s *MappingSet) ToPartner(kind Kind, property, code string) (string, error) {
	if v, ok := s.out[mkey{kind, property, code}]; ok {
		return v, nil
	}
	if s.Lenient {
		return code, nil
	}
	return "", &UnmappedError{Connector: s.connector, Kind: kind, Property: property, Code: code, Outbound: true}
}

// MapBooking replaces the partner's codes in b with Roomwire's: property, room
// types, rate plans and status. Every unmapped code is named in the error.
func (s *MappingSet) MapBooking(b *canonical.ChannelBooking) error {
	var errs []error
	r := &b.Reservation
	prop, err := s.ToRoomwire(KindProperty, "", r.PropertyID)
	if err != nil {
		return err // room types and rate plans cannot be mapped without it
	}
	r.PropertyID = prop
	if r.Status != "" {
		st, err := s.ToRoomwire(KindStatus, "", string(r.Status))
		errs = append(errs, err)
		r.Status = canonical.Status(st)
	}
	stays := make([]canonical.RoomStay, len(r.RoomStays))
	copy(stays, r.RoomStays)
	for i := range stays {
		var e1, e2 error
		stays[i].RoomType, e1 = s.ToRoomwire(KindRoomType, prop, stays[i].RoomType)
		stays[i].RatePlan, e2 = s.ToRoomwire(KindRatePlan, prop, stays[i].RatePlan)
		errs = append(errs, e1, e2)
	}
	r.RoomStays = stays
	return dedupErrors(errs)
}

// MapARI replaces the partner's codes in u with Roomwire's.
func (s *MappingSet) MapARI(u *canonical.ARIUpdate) error {
	prop, err := s.ToRoomwire(KindProperty, "", u.PropertyID)
	if err != nil {
		return err
	}
	u.PropertyID = prop
	var errs []error
	mapCode := func(kind Kind, code *string) {
		if *code == "" {
			return
		}
		v, err := s.ToRoomwire(kind, prop, *code)
		errs = append(errs, err)
		if err == nil {
			*code = v
		}
	}
	u.Availability = append([]canonical.AvailabilityUpdate(nil), u.Availability...)
	for i := range u.Availability {
		mapCode(KindRoomType, &u.Availability[i].RoomType)
	}
	u.Restrictions = append([]canonical.RestrictionsUpdate(nil), u.Restrictions...)
	for i := range u.Restrictions {
		mapCode(KindRoomType, &u.Restrictions[i].RoomType)
		mapCode(KindRatePlan, &u.Restrictions[i].RatePlan)
	}
	u.Rates = append([]canonical.RateUpdate(nil), u.Rates...)
	for i := range u.Rates {
		mapCode(KindRoomType, &u.Rates[i].RoomType)
		mapCode(KindRatePlan, &u.Rates[i].RatePlan)
	}
	return dedupErrors(errs)
}

// ReservationToPartner returns a copy of r in the partner's codes: property,
// room types and rate plans (the status stays Roomwire's).
func (s *MappingSet) ReservationToPartner(r *canonical.Reservation) (*canonical.Reservation, error) {
	c := *r
	var errs []error
	prop, err := s.ToPartner(KindProperty, "", r.PropertyID)
	errs = append(errs, err)
	c.PropertyID = prop
	c.RoomStays = make([]canonical.RoomStay, len(r.RoomStays))
	copy(c.RoomStays, r.RoomStays)
	for i := range c.RoomStays {
		var e1, e2 error
		c.RoomStays[i].RoomType, e1 = s.ToPartner(KindRoomType, r.PropertyID, r.RoomStays[i].RoomType)
		c.RoomStays[i].RatePlan, e2 = s.ToPartner(KindRatePlan, r.PropertyID, r.RoomStays[i].RatePlan)
		errs = append(errs, e1, e2)
	}
	if err := dedupErrors(errs); err != nil {
		return nil, err
	}
	return &c, nil
}

// dedupErrors joins errors, naming each unmapped code once.
func dedupErrors(errs []error) error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if e == nil || seen[e.Error()] {
			continue
		}
		seen[e.Error()] = true
		out = append(out, e)
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return joined(out)
}

// joined is errors.Join on one line, since the text ends up in log lines and
// dead-letter reasons.
type joined []error

func (j joined) Error() string {
	s := ""
	for i, e := range j {
		if i > 0 {
			s += "; "
		}
		s += e.Error()
	}
	return s
}

func (j joined) Unwrap() []error { return j }
