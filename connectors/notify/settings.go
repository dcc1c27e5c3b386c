package notify

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// Settings are a property's notification settings.
type Settings struct {
	PropertyID string `json:"property_id"`
	// Language of the property's e-mails (guest and hotel), e.g. "pt".
	Language string `json:"language"`
	// HotelEmail receives a notification per booking; empty: none.
	HotelEmail string `json:"hotel_email,omitempty"`
	// GuestEmail: guests get confirmation, modification and cancellation
	// e-mails (default true).
	GuestEmail bool `json:"guest_email"`
	// GuestSMS: guests with a phone number get an SMS on confirmation and
	// cancellation (needs an SMS provider; default false).
	GuestSMS  bool      `json:"guest_sms"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// settings returns property's settings, or the defaults.
func (n *Service) settings(ctx context.Context, property string) (Settings, error) {
	s := Settings{PropertyID: property}
	err := n.pool.QueryRow(ctx, `SELECT language, hotel_email, guest_email, guest_sms, updated_at
		FROM notification_settings WHERE property_id = $1`, property).Scan(&s.Language, &s.HotelEmail, &s.GuestEmail, &s.GuestSMS, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Settings{PropertyID: property, Language: n.cfg.DefaultLanguage, GuestEmail: true}, nil
	}
	return s, err
}

func (n *Service) getSettings(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := requireProperty(r, id)
	var s Settings
	if err == nil {
		s, err = n.settings(r.Context(), id)
	}
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

type settingsBody struct {
	Language   string `json:"language"`
	HotelEmail string `json:"hotel_email"`
	GuestEmail *bool  `json:"guest_email"`
	GuestSMS   *bool  `json:"guest_sms"`
}

func (n *Service) putSettings(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var body settingsBody
	err := requireProperty(r, id)
	if err == nil {
		err = decodeBody(w, r, &body)
	}
	s := Settings{PropertyID: id, Language: body.Language, HotelEmail: body.HotelEmail, GuestEmail: true}
	if body.GuestEmail != nil {
		s.GuestEmail = *body.GuestEmail
	}
	if body.GuestSMS != nil {
		s.GuestSMS = *body.GuestSMS
	}
	if err == nil {
		var p canonical.Problems
		if s.Language == "" {
			s.Language = n.cfg.DefaultLanguage
		}
		if !validLanguage(s.Language) {
			p.Add("language", "%q is not a language code such as en, pt or pt-BR", s.Language)
		}
		if s.HotelEmail != "" {
			if a, perr := mail.ParseAddress(s.HotelEmail); perr != nil || a.Name != "" || len(s.HotelEmail) > 254 {
				p.Add("hotel_email", "must be one e-mail address such as frontdesk@example.com")
			}
		}
		err = p.Err()
	}
	if err == nil {
		err = n.pool.QueryRow(r.Context(), `INSERT INTO notification_settings (property_id, language, hotel_email, guest_email, guest_sms)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (property_id) DO UPDATE SET language = EXCLUDED.language, hotel_email = EXCLUDED.hotel_email,
				guest_email = EXCLUDED.guest_email, guest_sms = EXCLUDED.guest_sms, updated_at = now()
			RETURNING updated_at`, id, s.Language, s.HotelEmail, s.GuestEmail, s.GuestSMS).Scan(&s.UpdatedAt)
	}
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}
