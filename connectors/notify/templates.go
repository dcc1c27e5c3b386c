package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/http"
	"regexp"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
)

// The kinds of message, each with its own template.
const (
	KindGuestConfirmation = "guest.confirmation"
	KindGuestModification = "guest.modification"
	KindGuestCancellation = "guest.cancellation"
	KindHotelNotification = "hotel.notification"
)

// Kinds lists every message kind.
var Kinds = []string{KindGuestConfirmation, KindGuestModification, KindGuestCancellation, KindHotelNotification}

func knownKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Languages lists the languages of the built-in templates.
func Languages() []string {
	out := make([]string, 0, len(phrases))
	for l := range phrases {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

var languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)

func validLanguage(l string) bool { return languagePattern.MatchString(l) }

// MessageData is what a template sees. It holds the guest's name and no
// contact details.
type MessageData struct {
	Kind               string
	Language           string
	Event              string // the hotel's word for what happened
	Lead               string // the key in T of the guest message's first line
	Property           struct{ ID, Name string }
	ConfirmationNumber string
	Status             string
	Channel            string
	Guest              struct{ GivenName, Surname string }
	Arrival, Departure string
	Nights             int
	Rooms              []RoomData
	Total              string
	T                  map[string]string
}

// RoomData is one room stay as templates see it.
type RoomData struct {
	RoomType, RatePlan string
	Arrival, Departure string
	Adults             int
}

// Template is one kind of message in one language: a subject
// (text/template), a plain-text body (text/template) and an optional HTML
// body (html/template, escaped as HTML).
type Template struct {
	Kind      string    `json:"kind"`
	Language  string    `json:"language"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	HTML      string    `json:"html,omitempty"`
	BuiltIn   bool      `json:"built_in"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Rendered is a message ready to send.
type Rendered struct {
	Subject, Text, HTML string
	Language            string
}

// builtin returns the built-in template of kind in language, or false.
func builtin(kind, language string) (Template, bool) {
	t, ok := phrases[language]
	if !ok {
		return Template{}, false
	}
	tpl := Template{Kind: kind, Language: language, BuiltIn: true, Text: builtinGuestText, HTML: builtinGuestHTML}
	switch kind {
	case KindGuestConfirmation:
		tpl.Subject = t["confirmed_subject"]
	case KindGuestModification:
		tpl.Subject = t["modified_subject"]
	case KindGuestCancellation:
		tpl.Subject = t["cancelled_subject"]
	case KindHotelNotification:
		tpl.Subject, tpl.Text, tpl.HTML = t["hotel_subject"], builtinHotelText, builtinHotelHTML
	default:
		return Template{}, false
	}
	return tpl, true
}

// render executes the template on d. The subject's line breaks are folded
// away: a header must be one line.
func (t Template) render(d MessageData) (Rendered, error) {
	var r Rendered
	var subj, text, html bytes.Buffer
	st, err := texttemplate.New("subject").Option("missingkey=zero").Parse(t.Subject)
	if err == nil {
		err = st.Execute(&subj, d)
	}
	if err != nil {
		return r, fieldError("subject", err)
	}
	tt, err := texttemplate.New("text").Option("missingkey=zero").Parse(t.Text)
	if err == nil {
		err = tt.Execute(&text, d)
	}
	if err != nil {
		return r, fieldError("text", err)
	}
	if t.HTML != "" {
		ht, err := htmltemplate.New("html").Option("missingkey=zero").Parse(t.HTML)
		if err == nil {
			err = ht.Execute(&html, d)
		}
		if err != nil {
			return r, fieldError("html", err)
		}
	}
	r.Subject = strings.Join(strings.Fields(subj.String()), " ")
	r.Text, r.HTML, r.Language = text.String(), html.String(), t.Language
	return r, nil
}

func fieldError(field string, err error) error {
	var p canonical.Problems
	p.Add(field, "%v", err)
	return p.Err()
}

// Templates finds each property's template for a kind and language: the
// property's own, else the built-in one in that language, else in English.
type Templates struct{ pool *pgxpool.Pool }

func (ts *Templates) find(ctx context.Context, property, kind, language string) (Template, error) {
	t := Template{Kind: kind, Language: language}
	err := ts.pool.QueryRow(ctx, `SELECT subject, text_body, html_body, updated_at FROM notification_templates
		WHERE property_id = $1 AND kind = $2 AND language = $3`, property, kind, language).Scan(&t.Subject, &t.Text, &t.HTML, &t.UpdatedAt)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return t, err
	}
	if b, ok := builtin(kind, language); ok {
		return b, nil
	}
	if b, ok := builtin(kind, "en"); ok {
		return b, nil
	}
	return t, fmt.Errorf("template %s/%s: %w", kind, language, errNotFound)
}

// sampleData is what a template is tried on before it is stored.
func sampleData(kind, language string) MessageData {
	d := MessageData{Kind: kind, Language: language, Event: "created", Lead: "confirmed", ConfirmationNumber: "RWSAMPLE01",
		Status: "confirmed", Channel: "direct", Arrival: "2026-12-21", Departure: "2026-12-23", Nights: 2, Total: "280.00 EUR",
		Rooms: []RoomData{{RoomType: "DBL", RatePlan: "FLEX", Arrival: "2026-12-21", Departure: "2026-12-23", Adults: 2}}}
	d.Property.ID, d.Property.Name = "SAMPLE", "Sample Hotel"
	d.Guest.GivenName, d.Guest.Surname = "Ana", "Silva"
	d.T = phrases["en"]
	if t, ok := phrases[language]; ok {
		d.T = t
	}
	return d
}

// --- endpoints ---

func (n *Service) listTemplates(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := requireProperty(r, id); err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	rows, _ := n.pool.Query(r.Context(), `SELECT kind, language, subject, text_body, html_body, updated_at
		FROM notification_templates WHERE property_id = $1 ORDER BY kind, language`, id)
	own, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Template, error) {
		var t Template
		err := row.Scan(&t.Kind, &t.Language, &t.Subject, &t.Text, &t.HTML, &t.UpdatedAt)
		return t, err
	})
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	if own == nil {
		own = []Template{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": own, "kinds": Kinds, "built_in_languages": Languages()})
}

// templatePath checks the property, kind and language of a template path.
func templatePath(r *http.Request) (property, kind, language string, err error) {
	property, kind, language = r.PathValue("id"), r.PathValue("kind"), r.PathValue("language")
	if err := requireProperty(r, property); err != nil {
		return "", "", "", err
	}
	var p canonical.Problems
	if !knownKind(kind) {
		p.Add("kind", "%q is not a kind of message; known: %v", kind, Kinds)
	}
	if !validLanguage(language) {
		p.Add("language", "%q is not a language code such as en, pt or pt-BR", language)
	}
	return property, kind, language, p.Err()
}

func (n *Service) getTemplate(w http.ResponseWriter, r *http.Request) {
	property, kind, language, err := templatePath(r)
	if err == nil {
		var t Template
		if t, err = n.templates.find(r.Context(), property, kind, language); err == nil {
			writeJSON(w, http.StatusOK, t)
			return
		}
	}
	writeError(w, r, n.logger, err)
}

type templateBody struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// maxTemplateLen bounds each part of a stored template.
const maxTemplateLen = 64 << 10

func (n *Service) putTemplate(w http.ResponseWriter, r *http.Request) {
	property, kind, language, err := templatePath(r)
	var body templateBody
	if err == nil {
		err = decodeBody(w, r, &body)
	}
	if err == nil {
		err = checkTemplate(kind, language, body)
	}
	t := Template{Kind: kind, Language: language, Subject: body.Subject, Text: body.Text, HTML: body.HTML}
	if err == nil {
		err = n.pool.QueryRow(r.Context(), `INSERT INTO notification_templates (property_id, kind, language, subject, text_body, html_body)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (property_id, kind, language) DO UPDATE SET subject = EXCLUDED.subject,
				text_body = EXCLUDED.text_body, html_body = EXCLUDED.html_body, updated_at = now()
			RETURNING updated_at`, property, kind, language, body.Subject, body.Text, body.HTML).Scan(&t.UpdatedAt)
	}
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// checkTemplate parses a template and tries it on sample data, so that a
// broken one is refused now rather than failing every booking's e-mail.
func checkTemplate(kind, language string, b templateBody) error {
	var p canonical.Problems
	if strings.TrimSpace(b.Subject) == "" {
		p.Add("subject", "is required")
	}
	if strings.TrimSpace(b.Text) == "" {
		p.Add("text", "is required: every e-mail has a plain-text part")
	}
	for f, v := range map[string]string{"subject": b.Subject, "text": b.Text, "html": b.HTML} {
		if len(v) > maxTemplateLen {
			p.Add(f, "is longer than %d bytes", maxTemplateLen)
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	_, err := Template{Kind: kind, Language: language, Subject: b.Subject, Text: b.Text, HTML: b.HTML}.render(sampleData(kind, language))
	return err
}

func (n *Service) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	property, kind, language, err := templatePath(r)
	if err == nil {
		var tag interface{ RowsAffected() int64 }
		tag, err = n.pool.Exec(r.Context(), `DELETE FROM notification_templates WHERE property_id = $1 AND kind = $2 AND language = $3`,
			property, kind, language)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("property %s has no template of its own for %s in %s: %w", property, kind, language, errNotFound)
		}
	}
	if err != nil {
		writeError(w, r, n.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
