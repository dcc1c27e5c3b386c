package bookingapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

// errBadBody marks a body that is not the JSON the endpoint expects.
var errBadBody = errors.New("bad request body")

// decode reads one JSON value of the endpoint's shape from the body, refusing
// unknown fields and trailing data, within the body size limit.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: the body must hold one JSON object and nothing after it", errBadBody)
	}
	return nil
}

func describeJSONError(err error) error {
	var maxBytes *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxBytes):
		return err
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: the body is empty; send a JSON object", errBadBody)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the JSON ends too early", errBadBody)
	case errors.As(err, &syntax):
		return fmt.Errorf("%w: malformed JSON at byte %d: %v", errBadBody, syntax.Offset, syntax)
	case errors.As(err, &typeErr):
		var p canonical.Problems
		fe := canonical.JSONTypeProblem(typeErr)
		if fe.Field == "" {
			fe.Field = "body"
		}
		p.Add(fe.Field, "%s", fe.Message)
		return p.Err()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		var p canonical.Problems
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p.Add(name, "is not a field of this request")
		return p.Err()
	case strings.HasPrefix(err.Error(), "json: "):
		// Go's decoder speaks of Go, not of the request.
		return fmt.Errorf("%w: the body is not the JSON this endpoint reads", errBadBody)
	default:
		// Errors of the canonical types' own decoders (money, codes) say what is wrong.
		var p canonical.Problems
		p.Add("body", "%v", err)
		return p.Err()
	}
}

func principal(r *http.Request) Principal {
	p, _ := PrincipalFrom(r.Context())
	return p
}

// --- properties ---

type propertyBody struct {
	ID        string                  `json:"id,omitempty"`
	Name      string                  `json:"name"`
	Timezone  string                  `json:"timezone"`
	Currency  string                  `json:"currency"`
	RoomTypes []reservations.RoomType `json:"room_types"`
	RatePlans []reservations.RatePlan `json:"rate_plans"`
}

func (a *API) putProperty(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !principal(r).Scope.Allows(id) {
		WriteProblem(w, r, http.StatusForbidden, CodeForbidden, fmt.Sprintf("property %q is outside this API key's scope", id))
		return
	}
	var body propertyBody
	if err := a.decode(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	if body.ID != "" && body.ID != id {
		WriteProblem(w, r, http.StatusUnprocessableEntity, CodeValidationFailed, "the body's id differs from the path's",
			canonical.FieldError{Field: "id", Message: fmt.Sprintf("is %q but the path names %q; leave it out or make them equal", body.ID, id)})
		return
	}
	p := reservations.Property{ID: id, Name: body.Name, Timezone: body.Timezone, Currency: body.Currency, RoomTypes: body.RoomTypes, RatePlans: body.RatePlans}
	created, err := a.store.PutProperty(r.Context(), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	stored, err := a.store.GetProperty(r.Context(), reservations.AllProperties, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, stored)
}

func (a *API) getProperty(w http.ResponseWriter, r *http.Request) {
	p, err := a.store.GetProperty(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// inventoryBody is an inventory update with its dates as text, read by
// readDate so that a bad one is named by its field.
type inventoryBody struct {
	reservations.InventoryUpdate
	From string `json:"from"`
	To   string `json:"to"`
}

func (a *API) putInventory(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Updates []inventoryBody `json:"updates"`
	}
	if err := a.decode(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	var p canonical.Problems
	updates := make([]reservations.InventoryUpdate, len(body.Updates))
	for i, u := range body.Updates {
		updates[i] = u.InventoryUpdate
		updates[i].From, updates[i].To = readDateRange(&p, fmt.Sprintf("updates[%d]", i), u.From, u.To)
	}
	if err := p.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.PutInventory(r.Context(), principal(r).Scope, r.PathValue("id"), updates); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"updated": len(body.Updates)})
}

type rateUpdateBody struct {
	RatePlan string `json:"rate_plan"`
	From     string `json:"from"` // dates as text, read by readDate
	To       string `json:"to"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	// Occupancy prices by number of adults; amount is then the price of the
	// most adults listed unless given.
	Occupancy  []occupancyBody `json:"occupancy"`
	ExtraAdult string          `json:"extra_adult"`
	ExtraChild string          `json:"extra_child"`
}

type occupancyBody struct {
	Adults int    `json:"adults"`
	Amount string `json:"amount"`
}

// rate reads a rate update's amounts into a canonical.Rate, adding a
// problem per amount that is not one.
func (u rateUpdateBody) rate(p *canonical.Problems, field string) canonical.Rate {
	parse := func(f, amount string) canonical.Money {
		m, err := canonical.ParseMoney(amount, u.Currency)
		if err != nil {
			p.Add(field+f, "%v", err)
		}
		return m
	}
	var rate canonical.Rate
	for i, o := range u.Occupancy {
		rate.Occupancy = append(rate.Occupancy, canonical.OccupancyPrice{Adults: o.Adults, Price: parse(fmt.Sprintf(".occupancy[%d].amount", i), o.Amount)})
	}
	sort.Slice(rate.Occupancy, func(i, j int) bool { return rate.Occupancy[i].Adults < rate.Occupancy[j].Adults })
	switch {
	case u.Amount != "":
		rate.Price = parse(".amount", u.Amount)
	case len(rate.Occupancy) > 0:
		rate.Price = rate.Occupancy[len(rate.Occupancy)-1].Price
	default:
		p.Add(field+".amount", "is required (or prices by occupancy)")
		rate.Price.Currency = u.Currency
	}
	if u.ExtraAdult != "" {
		rate.ExtraAdult = parse(".extra_adult", u.ExtraAdult)
	}
	if u.ExtraChild != "" {
		rate.ExtraChild = parse(".extra_child", u.ExtraChild)
	}
	return rate
}

func (a *API) putRates(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Updates []rateUpdateBody `json:"updates"`
	}
	if err := a.decode(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	var p canonical.Problems
	updates := make([]reservations.RateUpdate, len(body.Updates))
	for i, u := range body.Updates {
		f := fmt.Sprintf("updates[%d]", i)
		from, to := readDateRange(&p, f, u.From, u.To)
		updates[i] = reservations.RateUpdate{RatePlan: u.RatePlan, From: from, To: to, Rate: u.rate(&p, f)}
	}
	if err := p.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.PutRates(r.Context(), principal(r).Scope, r.PathValue("id"), updates); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"updated": len(updates)})
}

func (a *API) availability(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var p canonical.Problems
	query := reservations.AvailabilityQuery{PropertyID: r.PathValue("id"), Adults: 1,
		IncludeSoldOut: q.Get("include_sold_out") == "true", IncludeRestricted: q.Get("include_restricted") == "true"}
	query.Arrival = readDate(&p, q.Get("arrival"), "arrival", true)
	query.Departure = readDate(&p, q.Get("departure"), "departure", true)
	for field, dst := range map[string]*int{"adults": &query.Adults, "children": &query.Children} {
		if s := q.Get(field); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				p.Add(field, "must be a whole number, got %q", s)
			}
			*dst = n
		}
	}
	if err := p.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	offers, err := a.store.Availability(r.Context(), principal(r).Scope, query)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"property_id": query.PropertyID, "arrival": query.Arrival, "departure": query.Departure,
		"adults": query.Adults, "children": query.Children, "offers": offers,
	})
}

// readDate reads a date given as text (a query parameter, or a body field
// decoded as a string), adding a problem on field when it is missing and
// required, or is not a date of the calendar: the JSON decoder would name
// only the body.
func readDate(p *canonical.Problems, s, field string, required bool) canonical.Date {
	if s == "" {
		if required {
			p.Add(field, "is required (YYYY-MM-DD)")
		}
		return canonical.Date{}
	}
	d, err := canonical.ParseDate(s)
	if err != nil {
		p.Add(field, "%v", err)
	}
	return d
}

// readDateRange reads the from and to dates of the update at field.
func readDateRange(p *canonical.Problems, field, from, to string) (canonical.Date, canonical.Date) {
	return readDate(p, from, field+".from", true), readDate(p, to, field+".to", true)
}

// --- reservations ---

// createBody is what a booker sends to create a reservation. Prices come from
// the property's rates; ids, status and version from Roomwire.
type createBody struct {
	PropertyID       string               `json:"property_id"`
	Channel          string               `json:"channel"`
	ExternalID       string               `json:"external_id"`
	PrimaryGuest     canonical.Guest      `json:"primary_guest"`
	AdditionalGuests []canonical.Guest    `json:"additional_guests"`
	RoomStays        []stayBody           `json:"room_stays"`
	Guarantee        *canonical.Guarantee `json:"guarantee"`
	Comments         []string             `json:"comments"`
}

type stayBody struct {
	RoomType     string `json:"room_type"`
	RatePlan     string `json:"rate_plan"`
	Arrival      string `json:"arrival"` // dates as text, read by readDate
	Departure    string `json:"departure"`
	Adults       int    `json:"adults"`
	ChildrenAges []int  `json:"children_ages"`
	Guests       []int  `json:"guests"` // who stays in the room: 0 the primary guest, n additional_guests[n-1]
}

// toStays reads the stays, adding a problem per date that is not one.
// A missing date is left to the reservation's validation.
func toStays(p *canonical.Problems, in []stayBody) []canonical.RoomStay {
	out := make([]canonical.RoomStay, len(in))
	for i, s := range in {
		f := fmt.Sprintf("room_stays[%d]", i)
		out[i] = canonical.RoomStay{RoomType: s.RoomType, RatePlan: s.RatePlan,
			Arrival: readDate(p, s.Arrival, f+".arrival", false), Departure: readDate(p, s.Departure, f+".departure", false),
			Adults: s.Adults, ChildrenAges: s.ChildrenAges, Guests: s.Guests}
	}
	return out
}

// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
const MaxIdempotencyKeyLen = 255

func (a *API) createReservation(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > MaxIdempotencyKeyLen {
		WriteProblem(w, r, http.StatusUnprocessableEntity, CodeValidationFailed, "",
			canonical.FieldError{Field: "Idempotency-Key", Message: fmt.Sprintf("is longer than %d characters", MaxIdempotencyKeyLen)})
		return
	}
	var body createBody
	if err := a.decode(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	if a.isConnectorChannel(body.Channel) {
		WriteProblem(w, r, http.StatusUnprocessableEntity, CodeValidationFailed, "",
			canonical.FieldError{Field: "channel", Message: fmt.Sprintf("%q belongs to a connector: its reservations come only from that partner; name your own channel (such as direct or website)", body.Channel)})
		return
	}
	var problems canonical.Problems
	stays := toStays(&problems, body.RoomStays)
	if err := problems.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	p := principal(r)
	res, err := a.store.Create(r.Context(), p.Scope, reservations.CreateRequest{
		Reservation: canonical.Reservation{
			PropertyID: body.PropertyID, Channel: body.Channel, ExternalID: body.ExternalID,
			PrimaryGuest: body.PrimaryGuest, AdditionalGuests: body.AdditionalGuests, RoomStays: stays,
			Guarantee: body.Guarantee, Comments: body.Comments,
		},
		IdempotencyKey: key,
		Principal:      p.ID,
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/reservations/"+res.Reservation.ID)
	writeReservation(w, http.StatusCreated, res.Reservation)
}

// isConnectorChannel reports whether channel belongs to a connector.
func (a *API) isConnectorChannel(channel string) bool {
	for _, c := range a.cfg.ConnectorChannels {
		if strings.EqualFold(c, strings.TrimSpace(channel)) {
			return true
		}
	}
	return false
}

func writeReservation(w http.ResponseWriter, status int, res *canonical.Reservation) {
	w.Header().Set("ETag", strconv.Quote(strconv.Itoa(res.Version)))
	writeJSON(w, status, res)
}

func (a *API) getReservation(w http.ResponseWriter, r *http.Request) {
	res, err := a.store.Get(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeReservation(w, http.StatusOK, res)
}

func (a *API) getRevisions(w http.ResponseWriter, r *http.Request) {
	revs, err := a.store.Revisions(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": revs})
}

func (a *API) listReservations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var p canonical.Problems
	f := reservations.Filter{
		PropertyID: q.Get("property_id"),
		Status:     canonical.Status(q.Get("status")),
		Guest:      q.Get("guest"),
		Channel:    q.Get("channel"),
		ExternalID: q.Get("external_id"),
		Flag:       canonical.Flag(q.Get("flag")),
		Cursor:     q.Get("cursor"),
	}
	if len(f.Flag) > 40 {
		p.Add("flag", "is longer than 40 characters")
	}
	if f.Status != "" && !f.Status.Valid() {
		p.Add("status", "%q is not one of confirmed, cancelled, no_show, checked_in, checked_out", q.Get("status"))
	}
	f.ArrivalFrom = readDate(&p, q.Get("arrival_from"), "arrival_from", false)
	f.ArrivalTo = readDate(&p, q.Get("arrival_to"), "arrival_to", false)
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			p.Add("limit", "must be a whole number from 1 to 500, got %q", s)
		}
		f.Limit = n
	}
	if len(f.Guest) > canonical.MaxNameLen {
		p.Add("guest", "is longer than %d characters", canonical.MaxNameLen)
	}
	if err := p.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := a.store.List(r.Context(), principal(r).Scope, f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// ifMatch reads the version a caller last saw from If-Match: "3" (or W/"3").
// No header means no check.
func ifMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(h, "W/"), `"`))
	if err != nil || v < 1 {
		var p canonical.Problems
		p.Add("If-Match", `must be the reservation's ETag, e.g. "3", got %s`, h)
		return 0, p.Err()
	}
	return v, nil
}

// modifyBody lists what PATCH may change. A field left out (or null) is kept;
// a field sent replaces the current value (a list replaces the whole list).
type modifyBody struct {
	PrimaryGuest     *canonical.Guest     `json:"primary_guest"`
	AdditionalGuests *[]canonical.Guest   `json:"additional_guests"`
	RoomStays        *[]stayBody          `json:"room_stays"`
	Guarantee        *canonical.Guarantee `json:"guarantee"`
	Comments         *[]string            `json:"comments"`
	Status           *canonical.Status    `json:"status"`
}

func (a *API) modifyReservation(w http.ResponseWriter, r *http.Request) {
	version, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var body modifyBody
	if err := a.decode(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	var problems canonical.Problems
	var stays []canonical.RoomStay
	if body.RoomStays != nil {
		stays = toStays(&problems, *body.RoomStays)
	}
	if err := problems.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	// An unknown status is a bad request, not a state the reservation
	// cannot reach.
	if body.Status != nil && !body.Status.Valid() {
		WriteProblem(w, r, http.StatusUnprocessableEntity, CodeValidationFailed, "", canonical.FieldError{Field: "status",
			Message: "must be one of confirmed, cancelled, no_show, checked_in, checked_out"})
		return
	}
	res, err := a.store.Update(r.Context(), principal(r).Scope, r.PathValue("id"), reservations.UpdateOptions{IfVersion: version},
		func(res *canonical.Reservation) error {
			if body.PrimaryGuest != nil {
				res.PrimaryGuest = *body.PrimaryGuest
			}
			if body.AdditionalGuests != nil {
				res.AdditionalGuests = *body.AdditionalGuests
			}
			if body.RoomStays != nil {
				res.RoomStays = keepPrices(res.RoomStays, stays)
			}
			if body.Guarantee != nil {
				res.Guarantee = body.Guarantee
			}
			if body.Comments != nil {
				res.Comments = *body.Comments
			}
			if body.Status != nil {
				res.Status = *body.Status
			}
			res.DropStaleRoomGuests() // rooms may name guests the change removed
			return nil
		})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeReservation(w, http.StatusOK, res)
}

// keepPrices carries the agreed nightly prices, and the room's stated total
// and guests (unless the change names them), over to new stays that are the same stay as before (same room
// type, rate plan and dates), so that a change of guest count does not
// re-price a booking; any other stay is priced anew.
func keepPrices(old, stays []canonical.RoomStay) []canonical.RoomStay {
	used := make([]bool, len(old)) // a room's total and guests go to one new stay
	for i := range stays {
		priced := false
		for j, o := range old {
			if o.RoomType != stays[i].RoomType || o.RatePlan != stays[i].RatePlan || o.Arrival != stays[i].Arrival || o.Departure != stays[i].Departure {
				continue
			}
			if !priced {
				stays[i].NightlyPrices, priced = o.NightlyPrices, true
			}
			if !used[j] {
				stays[i].NightlyPrices, stays[i].Total, used[j] = o.NightlyPrices, o.Total, true
				if stays[i].Guests == nil {
					stays[i].Guests = o.Guests
				}
				break
			}
		}
	}
	return stays
}

func (a *API) cancelReservation(w http.ResponseWriter, r *http.Request) {
	version, err := ifMatch(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	res, err := a.store.Cancel(r.Context(), principal(r).Scope, r.PathValue("id"), reservations.UpdateOptions{IfVersion: version})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeReservation(w, http.StatusOK, res)
}

// --- API keys ---

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name       string   `json:"name"`
		Properties []string `json:"properties"`
	}
	if err := a.decode(w, r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	key, secret, err := a.store.CreateAPIKey(r.Context(), body.Name, body.Properties)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		reservations.APIKey
		Key  string `json:"key"`
		Note string `json:"note"`
	}{key, secret, "Store the key now: Roomwire keeps only its hash and cannot show it again."})
}

func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	if err := a.store.RevokeAPIKey(r.Context(), r.PathValue("id")); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.keys.forget(r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}
