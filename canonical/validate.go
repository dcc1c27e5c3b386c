package canonical

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldError is one problem with one field. Field is a path in the JSON form,
// such as "room_stays[1].departure".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem found in a value, not just the first.
type ValidationError []FieldError

func (v ValidationError) Error() string {
	parts := make([]string, 0, len(v))
	for _, p := range v {
		parts = append(parts, p.Field+": "+p.Message)
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Problems collects field errors; its zero value is ready to use.
type Problems struct{ list ValidationError }

// Add records a problem with field.
func (p *Problems) Add(field, format string, args ...any) {
	p.list = append(p.list, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Merge records every problem of err under prefix, or err itself if it is not
// a ValidationError.
func (p *Problems) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	v, ok := err.(ValidationError)
	if !ok {
		p.Add(prefix, "%v", err)
		return
	}
	for _, fe := range v {
		field := fe.Field
		if prefix != "" {
			field = prefix + "." + field
		}
		p.list = append(p.list, FieldError{Field: field, Message: fe.Message})
	}
}

// Err returns the problems as a ValidationError, or nil when there are none.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	return p.list
}

// Limits that bound every reservation, so that no partner message can make
// Roomwire store or price an absurd amount of data.
const (
	MaxStayNights   = 365
	MaxRoomStays    = 50
	MaxGuests       = 100
	MaxGuestsInRoom = 20
	MaxChildAge     = 17
	MaxNameLen      = 100
	MaxEmailLen     = 254
	MaxPhoneLen     = 40
	MaxCommentLen   = 2000
	MaxComments     = 20
	MaxIDLen        = 128
	MinYear         = 2000
	MaxYear         = 2199
)

var confirmationPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9\-]{5,31}$`)

// ValidConfirmationNumber reports whether s can be a confirmation number:
// 6 to 32 upper-case letters, digits and dashes.
func ValidConfirmationNumber(s string) bool { return confirmationPattern.MatchString(s) }

var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$`)

// ValidCode reports whether s can be a Roomwire code: a property id, room type,
// rate plan or channel. Codes are 1 to 64 letters, digits and . _ : -.
func ValidCode(s string) bool { return codePattern.MatchString(s) }

// CheckCode records a problem when s is not a valid code.
func (p *Problems) CheckCode(field, s string) {
	switch {
	case s == "":
		p.Add(field, "is required")
	case !ValidCode(s):
		p.Add(field, "must be 1 to 64 letters, digits and . _ : - (got %q)", truncate(s, 70))
	}
}

// CheckText records a problem when s is longer than max characters or holds
// control characters or invalid UTF-8.
func (p *Problems) CheckText(field, s string, max int) {
	if !utf8.ValidString(s) {
		p.Add(field, "is not valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > max {
		p.Add(field, "is %d characters long; at most %d are allowed", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			p.Add(field, "contains a control character")
			return
		}
	}
}

// CheckFreeText is CheckText for text a person wrote (comments, names,
// addresses): it also refuses card numbers and card security codes, which
// Roomwire never stores, and the controls that reorder text on screen.
func (p *Problems) CheckFreeText(field, s string, max int) {
	before := len(p.list)
	p.CheckText(field, s, max)
	if len(p.list) > before {
		return
	}
	switch {
	case ContainsCardData(s):
		p.Add(field, "holds a card number or card security code, which Roomwire never stores; take payment through the payment provider and send its token in guarantee.card_token")
	case strings.ContainsFunc(s, isBidiControl):
		p.Add(field, "contains a bidirectional text control (U+202A to U+202E, U+2066 to U+2069), which can disguise text")
	}
}

// CheckName is CheckFreeText for a person's name or title, which also must
// not hold invisible characters (zero-width spaces, joiners, marks): they
// make two names look alike.
func (p *Problems) CheckName(field, s string) {
	before := len(p.list)
	p.CheckFreeText(field, s, MaxNameLen)
	if len(p.list) == before && strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
		p.Add(field, "contains an invisible character (such as U+200B, a zero-width space)")
	}
}

func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// CheckDate records a problem when d is missing or outside the years Roomwire handles.
func (p *Problems) CheckDate(field string, d Date) bool {
	if d.IsZero() {
		p.Add(field, "is required (YYYY-MM-DD)")
		return false
	}
	if d.Year < MinYear || d.Year > MaxYear {
		p.Add(field, "%s is outside the years %d to %d", d, MinYear, MaxYear)
		return false
	}
	return true
}

// CheckMoney records a problem when m has an unknown currency or a negative amount.
func (p *Problems) CheckMoney(field string, m Money) {
	if _, ok := CurrencyExponent(m.Currency); !ok {
		p.Add(field+".currency", "%q is not an ISO 4217 currency code", truncate(m.Currency, 10))
	}
	if m.Minor < 0 {
		p.Add(field+".amount", "must not be negative (got %s)", m.Decimal())
	}
}

// Validate checks the reservation and returns a ValidationError naming every
// problem with its field path, or nil.
func (r *Reservation) Validate() error {
	var p Problems
	p.CheckCode("property_id", r.PropertyID)
	p.CheckCode("channel", r.Channel)
	if len(r.ExternalID) > MaxIDLen {
		p.Add("external_id", "is longer than %d characters", MaxIDLen)
	} else {
		p.CheckText("external_id", r.ExternalID, MaxIDLen)
	}
	if !r.Status.Valid() {
		p.Add("status", "%q is not one of confirmed, cancelled, no_show, checked_in, checked_out", truncate(string(r.Status), 30))
	}
	if r.Version < 0 {
		p.Add("version", "must not be negative")
	}
	r.PrimaryGuest.validate(&p, "primary_guest", true)
	if len(r.AdditionalGuests) > MaxGuests {
		p.Add("additional_guests", "has %d guests; at most %d are allowed", len(r.AdditionalGuests), MaxGuests)
	} else {
		for i, g := range r.AdditionalGuests {
			g.validate(&p, fmt.Sprintf("additional_guests[%d]", i), false)
		}
	}
	switch n := len(r.RoomStays); {
	case n == 0:
		p.Add("room_stays", "at least one room stay is required")
	case n > MaxRoomStays:
		p.Add("room_stays", "has %d room stays; at most %d are allowed", n, MaxRoomStays)
	default:
		for i, s := range r.RoomStays {
			f := fmt.Sprintf("room_stays[%d]", i)
			s.validate(&p, f, r.Total.Currency)
			s.validateGuests(&p, f+".guests", len(r.AdditionalGuests))
		}
	}
	p.CheckMoney("total", r.Total)
	if r.Guarantee != nil {
		r.Guarantee.validate(&p, "guarantee")
	}
	if len(r.Comments) > MaxComments {
		p.Add("comments", "has %d comments; at most %d are allowed", len(r.Comments), MaxComments)
	} else {
		for i, c := range r.Comments {
			p.CheckFreeText(fmt.Sprintf("comments[%d]", i), c, MaxCommentLen)
		}
	}
	return p.Err()
}

func (g Guest) validate(p *Problems, path string, primary bool) {
	if primary && strings.TrimSpace(g.Surname) == "" {
		p.Add(path+".surname", "is required")
	}
	p.CheckName(path+".title", g.Title)
	p.CheckName(path+".given_name", g.GivenName)
	p.CheckName(path+".surname", g.Surname)
	p.CheckFreeText(path+".email", g.Email, MaxEmailLen)
	if g.Email != "" && !strings.Contains(g.Email, "@") {
		p.Add(path+".email", "is not an email address")
	}
	p.CheckFreeText(path+".phone", g.Phone, MaxPhoneLen)
	if a := g.Address; a != nil {
		if len(a.Lines) > 5 {
			p.Add(path+".address.lines", "has %d lines; at most 5 are allowed", len(a.Lines))
		}
		for i, l := range a.Lines {
			p.CheckFreeText(fmt.Sprintf("%s.address.lines[%d]", path, i), l, MaxNameLen)
		}
		p.CheckFreeText(path+".address.city", a.City, MaxNameLen)
		p.CheckFreeText(path+".address.postal_code", a.PostalCode, 20)
		if a.CountryCode != "" && !isUpperAlpha(a.CountryCode, 2) {
			p.Add(path+".address.country_code", "must be an ISO 3166-1 alpha-2 code such as PT (got %q)", truncate(a.CountryCode, 10))
		}
	}
}

func (s RoomStay) validate(p *Problems, path, currency string) {
	p.CheckCode(path+".room_type", s.RoomType)
	p.CheckCode(path+".rate_plan", s.RatePlan)
	okA := p.CheckDate(path+".arrival", s.Arrival)
	okD := p.CheckDate(path+".departure", s.Departure)
	// The nights are listed only for a stay of bounded length: dates far
	// apart would make Nights allocate millions of them.
	nightsKnown := false
	if okA && okD {
		switch n := s.Arrival.DaysUntil(s.Departure); {
		case n <= 0:
			p.Add(path+".departure", "must be after arrival (%s), got %s", s.Arrival, s.Departure)
			nightsKnown = true
		case n > MaxStayNights:
			p.Add(path+".departure", "stay of %d nights is longer than the %d allowed", n, MaxStayNights)
		default:
			nightsKnown = true
		}
	}
	if s.Adults < 1 {
		p.Add(path+".adults", "at least one adult is required")
	} else if s.Adults+len(s.ChildrenAges) > MaxGuestsInRoom {
		p.Add(path+".adults", "%d guests in one room; at most %d are allowed", s.Adults+len(s.ChildrenAges), MaxGuestsInRoom)
	}
	for i, age := range s.ChildrenAges {
		if age < 0 || age > MaxChildAge {
			p.Add(fmt.Sprintf("%s.children_ages[%d]", path, i), "age %d is not a child's age (0 to %d)", age, MaxChildAge)
		}
	}
	if s.Total != nil {
		p.CheckMoney(path+".total", *s.Total)
		if currency != "" && s.Total.Currency != currency {
			p.Add(path+".total.currency", "is %s but the reservation total is in %s", s.Total.Currency, currency)
		}
	}
	if len(s.NightlyPrices) == 0 {
		return
	}
	var nights []Date
	if nightsKnown {
		nights = s.Nights()
		if len(s.NightlyPrices) != len(nights) || len(nights) == 0 {
			p.Add(path+".nightly_prices", "has %d prices for %d nights", len(s.NightlyPrices), len(nights))
			return
		}
	}
	for i, np := range s.NightlyPrices {
		f := fmt.Sprintf("%s.nightly_prices[%d]", path, i)
		if nightsKnown && np.Date != nights[i] {
			p.Add(f+".date", "expected %s, the stay's night number %d", nights[i], i+1)
		}
		p.CheckMoney(f+".price", np.Price)
		if currency != "" && np.Price.Currency != currency {
			p.Add(f+".price.currency", "is %s but the reservation total is in %s", np.Price.Currency, currency)
		}
	}
}

// validateGuests checks that the room names guests the reservation has
// (additional of them besides the primary guest), each once.
func (s RoomStay) validateGuests(p *Problems, path string, additional int) {
	if len(s.Guests) > MaxGuestsInRoom {
		p.Add(path, "names %d guests; at most %d stay in one room", len(s.Guests), MaxGuestsInRoom)
		return
	}
	seen := map[int]bool{}
	for i, n := range s.Guests {
		f := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case n < 0 || n > additional:
			p.Add(f, "%d is not a guest of the reservation: 0 is primary_guest, 1 to %d are additional_guests", n, additional)
		case seen[n]:
			p.Add(f, "names guest %d twice", n)
		}
		seen[n] = true
	}
}

func (g *Guarantee) validate(p *Problems, path string) {
	switch g.Type {
	case "card", "deposit", "company", "none":
	default:
		p.Add(path+".type", "%q is not one of card, deposit, company, none", truncate(g.Type, 20))
	}
	// A card number must never enter the model, even by mistake in a token field.
	if ContainsCardNumber(g.CardToken) {
		p.Add(path+".card_token", "looks like a card number; send the gateway's token instead")
	}
	if ContainsCardNumber(g.CardMask) {
		p.Add(path+".card_mask", "shows a full card number; send a masked number such as 4111XXXXXXXX1111")
	}
	p.CheckText(path+".card_token", g.CardToken, 255)
	p.CheckText(path+".card_mask", g.CardMask, 32)
	p.CheckText(path+".card_brand", g.CardBrand, 20)
	p.CheckText(path+".card_expiry", g.CardExpiry, 7)
	p.CheckName(path+".holder_name", g.HolderName)
	p.CheckText(path+".token_vault", g.TokenVault, 64)
}

func isUpperAlpha(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
