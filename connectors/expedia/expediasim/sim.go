// Package expediasim simulates Expedia QuickConnect: POST /eqc/br lists the
// booking messages not yet confirmed, POST /eqc/bc confirms them (recording
// Roomwire's confirmation numbers), POST /eqc/ar applies availability and
// rates, refusing a message over the partner's limit of updates. Credentials
// are checked in the body. Bookings are made with Book, Modify and Cancel;
// fault switches are channelsim.Faults (Duplicates lists confirmed messages
// again).
package expediasim

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/expedia"
)

// Config configures the simulator.
type Config struct {
	Username, Password string
	// MaxUpdates is the most AvailRateUpdate elements one message may hold. Default 100.
	MaxUpdates int
	Logger     *slog.Logger
	Seed       uint64
}

type message struct {
	seq        int
	typ        string
	r          canonical.Reservation
	confirmed  string // Roomwire's confirmation number, once confirmed
	redelivers int
}

// Sim is the simulator. It is an http.Handler.
type Sim struct {
	*channelsim.Kit
	cfg Config

	mu       sync.Mutex
	messages []*message
	current  map[string]canonical.Reservation
	next     channelsim.BookingNumbers
}

// New returns a simulator.
func New(cfg Config) *Sim {
	if cfg.MaxUpdates == 0 {
		cfg.MaxUpdates = 100
	}
	s := &Sim{Kit: channelsim.New("expedia", cfg.Logger, cfg.Seed), cfg: cfg, current: map[string]canonical.Reservation{}, next: 901245000}
	api := http.NewServeMux()
	api.HandleFunc("POST /eqc/br", s.retrieve)
	api.HandleFunc("POST /eqc/bc", s.confirm)
	api.HandleFunc("POST /eqc/ar", s.ar)
	s.Serve(api)
	return s
}

func (s *Sim) add(typ string, r canonical.Reservation) {
	r.ModifiedAt = time.Now().UTC().Add(time.Duration(len(s.messages)) * time.Millisecond)
	s.messages = append(s.messages, &message{seq: len(s.messages), typ: typ, r: *r.Clone(), redelivers: s.Faults().Duplicates})
	s.current[r.ExternalID] = r
}

// Book makes a booking (in Expedia's codes) and returns its id.
func (s *Sim) Book(r canonical.Reservation) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.ExternalID = s.next.Or(r.ExternalID)
	s.add("Book", r)
	return r.ExternalID
}

// Modify changes a booking and lists a Modify message.
func (s *Sim) Modify(id string, fn func(*canonical.Reservation)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.current[id]
	if !ok {
		return fmt.Errorf("no booking %s", id)
	}
	r = *r.Clone()
	fn(&r)
	s.add("Modify", r)
	return nil
}

// Cancel cancels a booking and lists a Cancel message.
func (s *Sim) Cancel(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.current[id]
	if !ok {
		return fmt.Errorf("no booking %s", id)
	}
	s.add("Cancel", r)
	return nil
}

// Confirmed returns the confirmation number of the last message of a
// booking, and whether every message of it is confirmed.
func (s *Sim) Confirmed(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	number, all := "", false
	for _, m := range s.messages {
		if m.r.ExternalID == id {
			number, all = m.confirmed, m.confirmed != ""
		}
	}
	for _, m := range s.messages {
		if m.r.ExternalID == id && m.confirmed == "" {
			all = false
		}
	}
	return number, all
}

func (s *Sim) authorized(a expedia.Authentication) bool {
	return subtle.ConstantTimeCompare([]byte(a.Username), []byte(s.cfg.Username)) == 1 &&
		subtle.ConstantTimeCompare([]byte(a.Password), []byte(s.cfg.Password)) == 1
}

func write(w http.ResponseWriter, v any) {
	b, err := expedia.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(b) //nolint:errcheck
}

func authError() expedia.Error {
	return expedia.Error{Code: "1001", Text: "Authentication error: invalid username or password"}
}

func (s *Sim) retrieve(w http.ResponseWriter, r *http.Request) {
	data, err := connectors.ReadLimited(r.Body, connectors.MaxMessageBytes)
	var rq expedia.RetrievalRQ
	if err == nil {
		_, err = connectors.DecodeXML(data, &rq, expedia.RootRetrievalRQ)
	}
	if err != nil {
		write(w, expedia.RetrievalRS{XMLName: expedia.RootRetrievalRS, Errors: []expedia.Error{{Code: "2001", Text: err.Error()}}})
		return
	}
	if !s.authorized(rq.Authentication) {
		write(w, expedia.RetrievalRS{XMLName: expedia.RootRetrievalRS, Errors: []expedia.Error{authError()}})
		return
	}
	s.mu.Lock()
	rs := expedia.RetrievalRS{XMLName: expedia.RootRetrievalRS}
	for _, m := range s.messages {
		if rq.Hotel != nil && rq.Hotel.ID != m.r.PropertyID {
			continue
		}
		if m.confirmed != "" {
			if m.redelivers == 0 {
				continue
			}
			m.redelivers--
		}
		rs.Bookings = append(rs.Bookings, expedia.BookingOf(&m.r, m.typ))
	}
	s.mu.Unlock()
	write(w, rs)
}

func (s *Sim) confirm(w http.ResponseWriter, r *http.Request) {
	data, err := connectors.ReadLimited(r.Body, connectors.MaxMessageBytes)
	var rq expedia.ConfirmRQ
	if err == nil {
		_, err = connectors.DecodeXML(data, &rq, expedia.RootConfirmRQ)
	}
	if err != nil {
		write(w, expedia.RS{XMLName: expedia.RootConfirmRS, Errors: []expedia.Error{{Code: "2001", Text: err.Error()}}})
		return
	}
	if !s.authorized(rq.Authentication) {
		write(w, expedia.RS{XMLName: expedia.RootConfirmRS, Errors: []expedia.Error{authError()}})
		return
	}
	s.mu.Lock()
	for _, n := range rq.Numbers {
		for _, m := range s.messages {
			if m.r.ExternalID == n.BookingID && m.typ == n.BookingType && m.confirmed == "" {
				m.confirmed = n.ConfirmNumber
			}
		}
		s.Acks.Add(channelsim.Ack{ChannelID: n.BookingID, Kind: n.BookingType, Reference: n.ConfirmNumber})
	}
	s.mu.Unlock()
	write(w, expedia.RS{XMLName: expedia.RootConfirmRS, Success: &struct{}{}})
}

func (s *Sim) ar(w http.ResponseWriter, r *http.Request) {
	data, err := connectors.ReadLimited(r.Body, connectors.MaxMessageBytes)
	var m *expedia.ARMessage
	if err == nil {
		m, err = expedia.ParseAR(data)
	}
	switch {
	case err != nil:
		write(w, expedia.RS{XMLName: expedia.RootARRS, Errors: []expedia.Error{{Code: "3010", Text: err.Error()}}})
	case !s.authorized(m.Auth):
		write(w, expedia.RS{XMLName: expedia.RootARRS, Errors: []expedia.Error{authError()}})
	case m.Count > s.cfg.MaxUpdates:
		write(w, expedia.RS{XMLName: expedia.RootARRS, Errors: []expedia.Error{{Code: "3001", Text: fmt.Sprintf("too many AvailRateUpdate elements: %d, at most %d", m.Count, s.cfg.MaxUpdates)}}})
	case s.Faults().RefuseARI != "":
		write(w, expedia.RS{XMLName: expedia.RootARRS, Errors: []expedia.Error{{Code: "3202", Text: s.Faults().RefuseARI}}})
	default:
		s.ARI.Apply(m.Update)
		write(w, expedia.RS{XMLName: expedia.RootARRS, Success: &struct{}{}})
	}
}

// Pending returns the ids of bookings with unconfirmed messages, sorted.
func (s *Sim) Pending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, m := range s.messages {
		if m.confirmed == "" {
			seen[m.r.ExternalID] = true
		}
	}
	var out []string
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
