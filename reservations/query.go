package reservations

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// Get returns a reservation by id or confirmation number. A reservation outside
// scope is reported as not found, so that a key cannot probe other properties.
func (s *Store) Get(ctx context.Context, scope Scope, ref string) (*canonical.Reservation, error) {
	cond, value := reservationRef(ref)
	r, err := getWhere(ctx, s.pool, cond, value)
	if err != nil {
		return nil, err
	}
	if !scope.Allows(r.PropertyID) {
		return nil, notFound("reservation", ref)
	}
	return r, nil
}

// reservationRef returns the condition that finds a reservation by ref: its
// id if ref is a UUID, else its confirmation number.
func reservationRef(ref string) (cond string, value string) {
	if _, err := uuid.Parse(ref); err == nil {
		return "id = $1", ref
	}
	return "confirmation_number = $1", ref
}

// FindByExternalID returns the reservation a channel knows by externalID at
// property.
func (s *Store) FindByExternalID(ctx context.Context, property, channel, externalID string) (*canonical.Reservation, error) {
	r, _, err := s.findChannelBooking(ctx, property, channel, externalID)
	return r, err
}

func (s *Store) get(ctx context.Context, id string) (*canonical.Reservation, error) {
	return getReservation(ctx, s.pool, id)
}

func getReservation(ctx context.Context, q querier, id string) (*canonical.Reservation, error) {
	return getWhere(ctx, q, "id = $1", id)
}

func getWhere(ctx context.Context, q querier, cond string, value string) (*canonical.Reservation, error) {
	var doc []byte
	err := q.QueryRow(ctx, "SELECT document FROM reservations WHERE "+cond, value).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("reservation", value)
	}
	return decodeReservation(doc, err)
}

func decodeReservation(doc []byte, err error) (*canonical.Reservation, error) {
	if err != nil {
		return nil, err
	}
	var r canonical.Reservation
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("stored reservation: %w", err)
	}
	return &r, nil
}

// Revisions returns every version of a reservation, oldest first.
func (s *Store) Revisions(ctx context.Context, scope Scope, id string) ([]canonical.Reservation, error) {
	r, err := s.Get(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT document FROM reservation_revisions WHERE reservation_id = $1 ORDER BY version`, r.ID)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (canonical.Reservation, error) {
		var doc []byte
		if err := row.Scan(&doc); err != nil {
			return canonical.Reservation{}, err
		}
		r, err := decodeReservation(doc, nil)
		if err != nil {
			return canonical.Reservation{}, err
		}
		return *r, nil
	})
}

// Filter selects reservations. Empty fields select everything.
type Filter struct {
	PropertyID  string
	Status      canonical.Status
	ArrivalFrom canonical.Date // inclusive
	ArrivalTo   canonical.Date // inclusive
	Guest       string         // part of a guest's name or email, or the confirmation number
	Channel     string
	ExternalID  string
	// Flag selects reservations carrying a flag (canonical.FlagOverbooked,
	// ...), or any flag at all with FlagAny: those an operator must resolve.
	Flag   canonical.Flag
	Limit  int    // default 50, at most 500
	Cursor string // from the previous page's NextCursor
}

// FlagAny in a Filter selects reservations carrying any flag.
const FlagAny canonical.Flag = "any"

// Page is one page of a listing.
type Page struct {
	Items      []canonical.Reservation `json:"items"`
	NextCursor string                  `json:"next_cursor,omitempty"`
}

// ErrBadCursor means a list cursor was not one this store handed out.
var ErrBadCursor = errors.New("bad cursor")

// List returns reservations matching f that scope allows, newest first.
func (s *Store) List(ctx context.Context, scope Scope, f Filter) (Page, error) {
	switch {
	case f.Limit == 0:
		f.Limit = 50
	case f.Limit < 0 || f.Limit > 500:
		var pr canonical.Problems
		pr.Add("limit", "must be between 1 and 500")
		return Page{}, pr.Err()
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !scope.All {
		where = append(where, "property_id = ANY("+arg(scope.Properties)+")")
	}
	if f.PropertyID != "" {
		where = append(where, "property_id = "+arg(f.PropertyID))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if !f.ArrivalFrom.IsZero() {
		where = append(where, "arrival >= "+arg(f.ArrivalFrom.Time()))
	}
	if !f.ArrivalTo.IsZero() {
		where = append(where, "arrival <= "+arg(f.ArrivalTo.Time()))
	}
	if f.Guest != "" {
		where = append(where, "guest_search LIKE "+arg("%"+escapeLike(strings.ToLower(f.Guest))+"%"))
	}
	if f.Channel != "" {
		where = append(where, "channel = "+arg(f.Channel))
	}
	if f.ExternalID != "" {
		where = append(where, "external_id = "+arg(f.ExternalID))
	}
	switch f.Flag {
	case "":
	case FlagAny:
		where = append(where, "jsonb_array_length(coalesce(document->'flags', '[]')) > 0")
	default:
		where = append(where, "coalesce(document->'flags', '[]') ? "+arg(string(f.Flag)))
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		where = append(where, "(created_at, id) < ("+arg(at)+", "+arg(id)+")")
	}
	sql := "SELECT document, created_at, id FROM reservations"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY created_at DESC, id DESC LIMIT " + arg(f.Limit+1)
	rows, _ := s.pool.Query(ctx, sql, args...)
	page := Page{Items: []canonical.Reservation{}}
	var doc []byte
	var createdAt time.Time
	var id string
	var lastAt time.Time
	var lastID string
	_, err := pgx.ForEachRow(rows, []any{&doc, &createdAt, &id}, func() error {
		if len(page.Items) == f.Limit {
			page.NextCursor = encodeCursor(lastAt, lastID)
			return nil
		}
		r, err := decodeReservation(doc, nil)
		if err != nil {
			return err
		}
		page.Items = append(page.Items, *r)
		lastAt, lastID = createdAt, id
		return nil
	})
	return page, err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		at, id, ok := strings.Cut(string(b), "|")
		if ok {
			t, terr := time.Parse(time.RFC3339Nano, at)
			if _, uerr := uuid.Parse(id); terr == nil && uerr == nil {
				return t, id, nil
			}
		}
	}
	return time.Time{}, "", fmt.Errorf("cursor %q is not one this API handed out; start again without it: %w", truncateString(c, 40), ErrBadCursor)
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ClearFlag removes a flag from a reservation once its cause is gone: an
// overbooked reservation's nights are no longer oversold, a restricted one's
// stays no longer break a restriction (or the reservation is cancelled). It
// answers ErrInvalidState while the cause remains. Clearing is a change: a
// new version with a reservation.modified event.
func (s *Store) ClearFlag(ctx context.Context, scope Scope, id string, flag canonical.Flag) (*canonical.Reservation, error) {
	return s.Update(ctx, scope, id, UpdateOptions{}, func(r *canonical.Reservation) error {
		if !r.HasFlag(flag) {
			return nil // already clear: nothing changes
		}
		if r.Status.HoldsInventory() {
			if err := s.flagCause(ctx, r, flag); err != nil {
				return err
			}
		}
		r.ClearFlag(flag)
		return nil
	})
}

// flagCause returns ErrInvalidState when what raised flag on r still holds.
func (s *Store) flagCause(ctx context.Context, r *canonical.Reservation, flag canonical.Flag) error {
	switch flag {
	case canonical.FlagOverbooked:
		var roomTypes []string
		var nights []time.Time
		for k := range holds(r) {
			roomTypes, nights = append(roomTypes, k.roomType), append(nights, k.night.Time())
		}
		var roomType string
		var night time.Time
		err := s.pool.QueryRow(ctx, `SELECT i.room_type, i.night FROM inventory i
			JOIN room_types rt ON rt.property_id = i.property_id AND rt.code = i.room_type
			JOIN unnest($2::text[], $3::date[]) AS t(room_type, night) ON i.room_type = t.room_type AND i.night = t.night
			WHERE i.property_id = $1 AND i.units_sold > coalesce(i.units_sellable, rt.units) LIMIT 1`,
			r.PropertyID, roomTypes, nights).Scan(&roomType, &night)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("room type %s is still oversold on %s; free a room, or add units with PUT /v1/properties/%s/inventory: %w",
			roomType, canonical.DateOf(night), r.PropertyID, ErrInvalidState)
	case canonical.FlagRestricted:
		b := &pgx.Batch{}
		restr := queueReservationRestrictions(b, r)
		br := s.pool.SendBatch(ctx, b)
		err := restr.read(br)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if breach := restr.breach(r, nil); breach != nil {
			return fmt.Errorf("%s still; lift it with PUT /v1/properties/%s/restrictions, or change the stay: %w", breach.Error(), r.PropertyID, ErrInvalidState)
		}
		return nil
	}
	return nil // other flags are the caller's to judge
}
