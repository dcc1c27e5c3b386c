// Package smssim is an SMS gateway for tests and the demo: it takes the
// webhook provider's JSON POST, checks the bearer token, keeps each message
// once per Idempotency-Key, and can be told to fail with 503.
package smssim

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
)

// Message is one accepted text message.
type Message struct {
	ID   string `json:"id"`
	To   string `json:"to"`
	Text string `json:"text"`
}

// Server is a running gateway.
type Server struct {
	token    string
	ln       net.Listener
	srv      *http.Server
	mu       sync.Mutex
	seen     map[string]bool
	messages []Message
	failRate float64
}

// Start listens on addr ("127.0.0.1:0" for any free port); senders must
// present token.
func Start(addr, token string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{token: token, ln: ln, seen: map[string]bool{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle)}
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

// URL is the endpoint to configure as the webhook provider's url.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/messages" }

// SetFailRate makes that share of requests fail with 503.
func (s *Server) SetFailRate(r float64) { s.mu.Lock(); s.failRate = r; s.mu.Unlock() }

// Messages returns every accepted message, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Close stops the gateway.
func (s *Server) Close() error { return s.srv.Close() }

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/messages" {
		http.Error(w, "POST /messages", http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	var m Message
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&m); err != nil || m.To == "" || m.Text == "" {
		http.Error(w, "want {id, to, text}", http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failRate > 0 && rand.Float64() < s.failRate {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if key == "" || !s.seen[key] {
		s.seen[key] = true
		s.messages = append(s.messages, m)
	}
	w.WriteHeader(http.StatusAccepted)
}
