// Package bookingcomsim simulates Booking.com's reservation feeds and ARI
// endpoints (see package bookingcom for the paths). Reservations are made
// with Book, Modify and Cancel as guests would; the feeds list what Roomwire
// has not acknowledged, a change before acknowledgement stays in the new
// feed in its latest state, and SweepDeadlines sends what waited too long to
// the hotel by email, as Booking.com does. Fault switches are
// channelsim.Faults; Duplicates lists acknowledged reservations again.
package bookingcomsim

import (
	"crypto/subtle"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/bookingcom"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
)

// Config configures the simulator.
type Config struct {
	Username, Password string
	// AckDeadline is when an unacknowledged reservation goes by email. Default 30m.
	AckDeadline time.Duration
	Logger      *slog.Logger
	Seed        uint64
	// Now is the clock; default time.Now.
	Now func() time.Time
}

type reservation struct {
	r          canonical.Reservation
	status     string // Commit, Modify or Cancel
	acked      bool
	modPending bool // a change or cancellation of an acknowledged reservation
	redelivers int  // duplicate listings left
	emailed    bool
}

// Sim is the simulator. It is an http.Handler.
type Sim struct {
	*channelsim.Kit
	cfg Config

	mu      sync.Mutex
	res     map[string]*reservation
	next    channelsim.BookingNumbers
	reports map[string][]bookingcom.Report // reservation id to the reports received, in order
}

// New returns a simulator.
func New(cfg Config) *Sim {
	if cfg.AckDeadline == 0 {
		cfg.AckDeadline = 30 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sim{Kit: channelsim.New("bookingcom", cfg.Logger, cfg.Seed), cfg: cfg, res: map[string]*reservation{}, next: 4200000000}
	api := http.NewServeMux()
	api.HandleFunc("GET /hotels/ota/"+bookingFeed(false), func(w http.ResponseWriter, r *http.Request) { s.feed(w, r, false) })
	api.HandleFunc("GET /hotels/ota/"+bookingFeed(true), func(w http.ResponseWriter, r *http.Request) { s.feed(w, r, true) })
	api.HandleFunc("POST /hotels/ota/"+bookingFeed(false), func(w http.ResponseWriter, r *http.Request) { s.ack(w, r, false) })
	api.HandleFunc("POST /hotels/ota/"+bookingFeed(true), func(w http.ResponseWriter, r *http.Request) { s.ack(w, r, true) })
	for _, p := range []string{"OTA_HotelAvailNotif", "OTA_HotelRateAmountNotif", "OTA_HotelInvCountNotif"} {
		api.HandleFunc("POST /hotels/ota/"+p, s.ari)
	}
	api.HandleFunc("POST /hotels/xml/reporting", s.report)
	top := s.Serve(s.auth(api))
	top.Handle("GET /_sim/reports", channelsim.ServeJSON(&s.mu, func() any { return s.reports }))
	return s
}

// report serves the Reporting API: POST /hotels/xml/reporting. A report of
// a reservation it does not have, of an unknown kind, or already made (a
// second no-show, say) is refused with a fault, as Booking.com does.
func (s *Sim) report(w http.ResponseWriter, r *http.Request) {
	fault := func(msg string) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<?xml version='1.0' standalone='yes'?>\n<reporting>\n    <fault code=\"400\">\n        <string>%q</string>\n    </fault>\n</reporting>\n", msg)
	}
	data, err := connectors.ReadLimited(r.Body, 1<<16)
	if err != nil {
		fault(err.Error())
		return
	}
	var rq bookingcom.ReportRequest
	if _, err := connectors.DecodeXML(data, &rq, xml.Name{Local: "request"}); err != nil {
		fault(err.Error())
		return
	}
	kind := strings.TrimSpace(rq.Report.Kind)
	switch kind {
	case bookingcom.ReportNoShow, bookingcom.ReportInvalidCard, "cancel_reservation_invalid_cc":
	default:
		fault("Unknown report type " + kind)
		return
	}
	if rq.Report.WaivedFees != "" && kind != bookingcom.ReportNoShow {
		fault("waived_fees is only allowed with is_no_show")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.res[rq.ReservationID]; !ok {
		fault("You do not have permission to edit reservation " + rq.ReservationID)
		return
	}
	for _, prev := range s.reports[rq.ReservationID] {
		if prev.Kind == kind {
			fault("This reservation was already reported: " + kind)
			return
		}
	}
	if s.reports == nil {
		s.reports = map[string][]bookingcom.Report{}
	}
	s.reports[rq.ReservationID] = append(s.reports[rq.ReservationID], bookingcom.Report{Kind: kind, WaivedFees: rq.Report.WaivedFees})
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, "<status>enqueued</status>\n") //nolint:errcheck
}

// Reports returns the reports received about a reservation, in order.
func (s *Sim) Reports(id string) []bookingcom.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bookingcom.Report(nil), s.reports[id]...)
}

func bookingFeed(modify bool) string {
	if modify {
		return "OTA_HotelResModifyNotif"
	}
	return "OTA_HotelResNotif"
}

func (s *Sim) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.cfg.Username)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(s.cfg.Password)) != 1 {
			writeRS(w, http.StatusUnauthorized, ota.RootResNotifRS, &ota.Error{Type: ota.ErrTypeAuthentication, Code: ota.CodeAuthorization, Text: "Authentication failed"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Book makes a reservation (in Booking.com's codes) and returns its id.
func (s *Sim) Book(r canonical.Reservation) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.ExternalID = s.next.Or(r.ExternalID)
	now := s.cfg.Now().UTC().Truncate(time.Second)
	r.CreatedAt, r.ModifiedAt = now, now
	s.res[r.ExternalID] = &reservation{r: *r.Clone(), status: "Commit", redelivers: s.Faults().Duplicates}
	return r.ExternalID
}

// Modify changes a reservation as the guest would.
func (s *Sim) Modify(id string, fn func(*canonical.Reservation)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.res[id]
	if !ok {
		return fmt.Errorf("no reservation %s", id)
	}
	fn(&x.r)
	x.r.ModifiedAt = s.cfg.Now().UTC().Truncate(time.Second).Add(time.Duration(x.r.Version+1) * time.Millisecond)
	x.r.Version++
	if x.acked {
		x.status, x.modPending = "Modify", true
	}
	return nil
}

// Cancel cancels a reservation as the guest would.
func (s *Sim) Cancel(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.res[id]
	if !ok {
		return fmt.Errorf("no reservation %s", id)
	}
	x.status = "Cancel"
	x.r.Version++
	x.r.ModifiedAt = s.cfg.Now().UTC().Truncate(time.Second).Add(time.Duration(x.r.Version) * time.Millisecond)
	if x.acked {
		x.modPending = true
	}
	return nil
}

// Acknowledged reports whether Roomwire acknowledged the reservation's last state.
func (s *Sim) Acknowledged(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.res[id]
	return ok && x.acked && !x.modPending
}

// SweepDeadlines emails every reservation unacknowledged past the deadline
// to the hotel, and returns their ids.
func (s *Sim) SweepDeadlines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, x := range s.res {
		if !x.acked && !x.emailed && s.cfg.Now().Sub(x.r.CreatedAt) >= s.cfg.AckDeadline {
			x.emailed = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Emailed reports whether the reservation went to the hotel by email.
func (s *Sim) Emailed(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.res[id]
	return ok && x.emailed
}

func (s *Sim) feed(w http.ResponseWriter, r *http.Request, modify bool) {
	hotels := map[string]bool{}
	for _, h := range strings.Split(r.URL.Query().Get("hotel_ids"), ",") {
		if h != "" {
			hotels[h] = true
		}
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.res))
	for id := range s.res {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var list []ota.HotelReservation
	for _, id := range ids {
		x := s.res[id]
		if x.emailed || (len(hotels) > 0 && !hotels[x.r.PropertyID]) {
			continue
		}
		listed := false
		switch {
		case modify && x.modPending:
			listed = true
		case !modify && !x.acked:
			listed = true
		case !modify && x.acked && x.redelivers > 0: // the duplicate delivery fault
			x.redelivers--
			listed = true
		}
		if listed {
			list = append(list, ota.HotelReservationOf(&x.r, x.status))
		}
	}
	s.mu.Unlock()
	rq := ota.ResNotifRQ{XMLName: ota.RootResNotifRQ, Version: "1.0", TimeStamp: s.cfg.Now().UTC().Format(time.RFC3339), HotelReservations: list}
	if modify {
		rq = ota.ResNotifRQ{XMLName: ota.RootResModifyNotifRQ, Version: "1.0", TimeStamp: rq.TimeStamp, HotelResModifies: list}
	}
	b, err := ota.Marshal(rq)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(b) //nolint:errcheck
}

func (s *Sim) ack(w http.ResponseWriter, r *http.Request, modify bool) {
	data, err := connectors.ReadLimited(r.Body, connectors.MaxMessageBytes)
	root := ota.RootResNotifRS
	if modify {
		root = ota.RootResModifyNotifRS
	}
	if err != nil {
		writeRS(w, http.StatusRequestEntityTooLarge, root, &ota.Error{Type: ota.ErrTypeProtocol, Code: ota.CodeUnableToProcess, Text: err.Error()})
		return
	}
	var rs ota.ResNotifRS
	if _, err := connectors.DecodeXML(data, &rs, root); err != nil {
		writeRS(w, http.StatusBadRequest, root, &ota.Error{Type: ota.ErrTypeProtocol, Code: ota.CodeUnableToProcess, Text: err.Error()})
		return
	}
	s.mu.Lock()
	for _, h := range append(rs.HotelReservations, rs.HotelResModifies...) {
		ack := otasim.AckOf(bookingFeed(modify), h)
		if x, ok := s.res[ack.ChannelID]; ok {
			if modify {
				x.modPending = false
			} else {
				x.acked = true
			}
			s.Acks.Add(ack)
		}
	}
	s.mu.Unlock()
	writeRS(w, http.StatusOK, root, nil)
}

func (s *Sim) ari(w http.ResponseWriter, r *http.Request) {
	data, err := connectors.ReadLimited(r.Body, connectors.MaxMessageBytes)
	if err != nil {
		writeRS(w, http.StatusRequestEntityTooLarge, ota.RootAvailNotifRS, &ota.Error{Type: ota.ErrTypeProtocol, Code: ota.CodeUnableToProcess, Text: err.Error()})
		return
	}
	m, err := ota.ParseARI(data)
	if err != nil {
		typ, code := ota.ErrorFor(err)
		writeRS(w, http.StatusOK, ota.RootAvailNotifRS, &ota.Error{Type: typ, Code: code, Text: err.Error()})
		return
	}
	if reason := s.Faults().RefuseARI; reason != "" {
		writeRS(w, http.StatusOK, ota.ReplyRoot(m.Root), &ota.Error{Type: ota.ErrTypeBizRule, Code: ota.CodeUnableToProcess, Text: reason})
		return
	}
	s.ARI.Apply(m.Update)
	writeRS(w, http.StatusOK, ota.ReplyRoot(m.Root), nil)
}

func writeRS(w http.ResponseWriter, status int, root xml.Name, e *ota.Error) {
	otasim.WriteRS(w, status, root, "", e)
}
