// Package jsonchannelsim simulates the example JSON channel: it pushes
// bookings to Roomwire's receiver and records the references Roomwire
// answers, and takes ARI at POST /ari with a bearer token, keeping what it
// believes in channelsim.ARIState. Fault switches are channelsim.Faults.
package jsonchannelsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/examples/jsonchannel"
)

// Config configures the simulator.
type Config struct {
	// PushURL is Roomwire's receiver, e.g. http://127.0.0.1:8080/v1/connectors/jsonchannel/bookings.
	PushURL        string
	User, Password string // sent with pushes
	APIKey         string // required of ARI pushes
	Logger         *slog.Logger
}

// Sim is the simulator. It is an http.Handler.
type Sim struct {
	*channelsim.Kit
	cfg    Config
	client *http.Client
}

// New returns a simulator.
func New(cfg Config) *Sim {
	s := &Sim{Kit: channelsim.New(jsonchannel.Name, cfg.Logger, 1), cfg: cfg, client: &http.Client{Timeout: 30 * time.Second}}
	api := http.NewServeMux()
	api.HandleFunc("POST /ari", s.receiveARI)
	s.Serve(api)
	return s
}

func (s *Sim) receiveARI(w http.ResponseWriter, r *http.Request) {
	if !connectors.SecretEqual(r.Header.Get("Authorization"), "Bearer "+s.cfg.APIKey) {
		http.Error(w, `{"status":"error","error":"wrong api key"}`, http.StatusUnauthorized)
		return
	}
	data, err := connectors.ReadLimited(r.Body, connectors.MaxMessageBytes)
	var u canonical.ARIUpdate
	if err == nil {
		err = connectors.DecodeJSON(data, &u)
	}
	if err == nil && u.PropertyID == "" {
		err = fmt.Errorf("property_id is required")
	}
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"status":"error","error":%q}`, err.Error()), http.StatusBadRequest)
		return
	}
	s.ARI.Apply(u)
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok"}`)) //nolint:errcheck
}

// Push sends one booking to Roomwire, as often as the duplicates switch
// says plus once, and returns the last answer.
func (s *Sim) Push(ctx context.Context, b jsonchannel.Booking) (int, jsonchannel.Reply, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return 0, jsonchannel.Reply{}, err
	}
	var status int
	var rp jsonchannel.Reply
	for i := 0; i <= s.Faults().Duplicates; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.PushURL, bytes.NewReader(data))
		if err != nil {
			return 0, rp, err
		}
		req.SetBasicAuth(s.cfg.User, s.cfg.Password)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err != nil {
			return 0, rp, err
		}
		status = resp.StatusCode
		rp = jsonchannel.Reply{}
		err = json.NewDecoder(resp.Body).Decode(&rp)
		resp.Body.Close()
		if err != nil {
			return status, rp, err
		}
		if rp.Status == "ok" {
			s.Acks.Add(channelsim.Ack{ChannelID: b.BookingID, Reference: rp.Reference})
		}
	}
	return status, rp, nil
}
