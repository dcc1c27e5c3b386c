// Package otasim simulates an OpenTravel channel: it pushes
// OTA_HotelResNotifRQ to Roomwire's receiver and records the confirmation
// references Roomwire answers, and it receives OTA_HotelAvailNotifRQ,
// OTA_HotelInvCountNotifRQ and OTA_HotelRateAmountNotifRQ at POST /ari,
// keeping the last value per room type, rate plan and night (see
// channelsim.ARIState). Fault switches are channelsim.Faults.
package otasim

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/ota"
)

// Config configures the simulator.
type Config struct {
	// PushURL is Roomwire's receiver, e.g.
	// http://127.0.0.1:8080/v1/connectors/ota/reservations.
	PushURL string
	// Auth is how the simulator authenticates its pushes: basic or pos.
	Auth string
	// User and Password are sent with pushes (basic auth, or RequestorID ID
	// and MessagePassword).
	User, Password string
	// ARIUser and ARIPassword, when set, are required of ARI pushes with HTTP basic auth.
	ARIUser, ARIPassword string
	Logger               *slog.Logger
	Seed                 uint64
}

// Sim is the simulator. It is an http.Handler.
type Sim struct {
	*channelsim.Kit
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	reports map[string][]string // channel reservation id to the statuses reported, in order
	echoes  map[string]bool     // EchoTokens of the reports received
}

// New returns a simulator.
func New(cfg Config) *Sim {
	if cfg.Auth == "" {
		cfg.Auth = ota.AuthBasic
	}
	s := &Sim{Kit: channelsim.New("ota", cfg.Logger, cfg.Seed), cfg: cfg, client: &http.Client{Timeout: 30 * time.Second}}
	api := http.NewServeMux()
	api.HandleFunc("POST /ari", s.receiveARI)
	api.HandleFunc("POST /reservations", s.receiveReport)
	ctl := s.Serve(api)
	ctl.HandleFunc("POST /_sim/push", s.pushHandler)
	ctl.Handle("GET /_sim/reports", channelsim.ServeJSON(&s.mu, func() any { return s.reports }))
	return s
}

// authorized reports whether r carries the ARI credentials, when they are
// set; otherwise it answers root's RS with the error.
func (s *Sim) authorized(w http.ResponseWriter, r *http.Request, root xml.Name) bool {
	if s.cfg.ARIUser == "" || connectors.BasicAuthorized(r, s.cfg.ARIUser, s.cfg.ARIPassword) {
		return true
	}
	WriteRS(w, http.StatusUnauthorized, root, "", &ota.Error{Type: ota.ErrTypeAuthentication, Code: ota.CodeAuthorization, Text: "wrong credentials"})
	return false
}

// receiveARI applies an ARI notification and answers its RS.
func (s *Sim) receiveARI(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r, ota.RootAvailNotifRS) {
		return
	}
	data, err := connectors.ReadLimited(r.Body, connectors.MaxMessageBytes)
	if err != nil {
		WriteRS(w, http.StatusRequestEntityTooLarge, ota.RootAvailNotifRS, "", &ota.Error{Type: ota.ErrTypeProtocol, Code: ota.CodeUnableToProcess, Text: err.Error()})
		return
	}
	m, err := ota.ParseARI(data)
	if err != nil {
		typ, code := ota.ErrorFor(err)
		WriteRS(w, http.StatusOK, ota.RootAvailNotifRS, "", &ota.Error{Type: typ, Code: code, Text: err.Error()})
		return
	}
	if reason := s.Faults().RefuseARI; reason != "" {
		WriteRS(w, http.StatusOK, ota.RootAvailNotifRS, m.EchoToken, &ota.Error{Type: ota.ErrTypeBizRule, Code: ota.CodeUnableToProcess, Text: reason})
		return
	}
	s.ARI.Apply(m.Update)
	rs := ota.RootAvailNotifRS
	switch m.Root.Local {
	case ota.RootInvCountNotifRQ.Local:
		rs = ota.RootInvCountNotifRS
	case ota.RootRateAmountNotifRQ.Local:
		rs = ota.RootRateAmountNotifRS
	}
	WriteRS(w, http.StatusOK, rs, m.EchoToken, nil)
}

// receiveReport takes a channel's reservation status report from the hotel
// (OTA_HotelResModifyNotifRQ with ResStatus, e.g. No-show) at POST
// /reservations, with the ARI credentials. A repeat of an EchoToken is
// answered Success and counted once.
func (s *Sim) receiveReport(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r, ota.RootResModifyNotifRS) {
		return
	}
	data, err := connectors.ReadLimited(r.Body, connectors.MaxMessageBytes)
	var rq ota.ResNotifRQ
	if err == nil {
		_, err = connectors.DecodeXML(data, &rq, ota.RootResModifyNotifRQ)
	}
	if err != nil {
		WriteRS(w, http.StatusOK, ota.RootResModifyNotifRS, "", &ota.Error{Type: ota.ErrTypeProtocol, Code: ota.CodeUnableToProcess, Text: err.Error()})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reports == nil {
		s.reports, s.echoes = map[string][]string{}, map[string]bool{}
	}
	if !s.echoes[rq.EchoToken] {
		for _, h := range rq.HotelResModifies {
			if h.UniqueID == nil || h.UniqueID.ID == "" || h.ResStatus == "" {
				WriteRS(w, http.StatusOK, ota.RootResModifyNotifRS, rq.EchoToken, &ota.Error{Type: ota.ErrTypeRequired, Code: ota.CodeUnableToProcess, Text: "UniqueID and ResStatus are required"})
				return
			}
			s.reports[h.UniqueID.ID] = append(s.reports[h.UniqueID.ID], h.ResStatus)
		}
		s.echoes[rq.EchoToken] = true
	}
	WriteRS(w, http.StatusOK, ota.RootResModifyNotifRS, rq.EchoToken, nil)
}

// Reports returns the statuses reported for a channel reservation, in order.
func (s *Sim) Reports(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reports[id]...)
}

// WriteRS answers an OTA request with its RS: Success, or the error e. A
// channel simulator speaking OTA (otasim, bookingcomsim) answers with it.
func WriteRS(w http.ResponseWriter, status int, root xml.Name, echo string, e *ota.Error) {
	rs := ota.GenericRS{XMLName: root, Version: "1.0", EchoToken: echo, TimeStamp: time.Now().UTC().Format(time.RFC3339)}
	if e != nil {
		rs.Errors = []ota.Error{*e}
	} else {
		rs.Success = &struct{}{}
	}
	b, _ := ota.Marshal(rs)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck
}

// PushResult is Roomwire's answer to one push.
type PushResult struct {
	Status int
	RS     *ota.ResNotifRS
}

// Push sends reservations (in the channel's codes) in one
// OTA_HotelResNotifRQ with ResStatus status, as often as the Duplicates
// fault says, and records the confirmation references of a Success.
func (s *Sim) Push(ctx context.Context, status string, rs ...*canonical.Reservation) (PushResult, error) {
	data, err := ota.BuildResNotif("otasim-"+strconv.FormatInt(time.Now().UnixNano(), 36), status, rs...)
	if err != nil {
		return PushResult{}, err
	}
	if s.cfg.Auth == ota.AuthPOS {
		var rq ota.ResNotifRQ
		if _, err := connectors.DecodeXML(data, &rq, ota.RootResNotifRQ); err != nil {
			return PushResult{}, err
		}
		rq.POS = &ota.POS{Sources: []ota.Source{{RequestorID: &ota.RequestorID{Type: "22", ID: s.cfg.User, MessagePassword: s.cfg.Password}}}}
		if data, err = ota.Marshal(rq); err != nil {
			return PushResult{}, err
		}
	}
	var res PushResult
	for i := 0; i <= s.Faults().Duplicates; i++ {
		if res, err = s.PushRaw(ctx, data); err != nil {
			return res, err
		}
	}
	return res, nil
}

// PushRaw sends one message as it is, and records the confirmation
// references of a Success.
func (s *Sim) PushRaw(ctx context.Context, data []byte) (PushResult, error) {
	if s.cfg.PushURL == "" {
		return PushResult{}, errors.New("otasim: no push URL configured")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.PushURL, bytes.NewReader(data))
	if err != nil {
		return PushResult{}, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if s.cfg.Auth == ota.AuthBasic {
		req.SetBasicAuth(s.cfg.User, s.cfg.Password)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return PushResult{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, connectors.MaxMessageBytes))
	if err != nil {
		return PushResult{Status: resp.StatusCode}, err
	}
	res := PushResult{Status: resp.StatusCode}
	var rs ota.ResNotifRS
	if _, err := connectors.DecodeXML(body, &rs, ota.RootResNotifRS, ota.RootResModifyNotifRS); err != nil {
		return res, fmt.Errorf("otasim: Roomwire answered %d with no OTA reply: %w", resp.StatusCode, err)
	}
	res.RS = &rs
	if rs.Success != nil {
		for _, h := range append(rs.HotelReservations, rs.HotelResModifies...) {
			s.Acks.Add(AckOf("ResNotif", h))
		}
	}
	s.Logger.Info("pushed OTA_HotelResNotifRQ", "status", resp.StatusCode, "success", rs.Success != nil)
	return res, nil
}

// AckOf reads the acknowledgement of kind one reservation of an OTA RS
// carries: the channel's reservation id (ResID_Type 14, else the
// UniqueID) and Roomwire's reference (ResID_Type 10).
func AckOf(kind string, h ota.ReservationRS) channelsim.Ack {
	ack := channelsim.Ack{Kind: kind}
	for _, id := range h.HotelReservationIDs {
		switch id.ResIDType {
		case "14":
			ack.ChannelID = id.ResIDValue
		case "10":
			ack.Reference = id.ResIDValue
		}
	}
	if ack.ChannelID == "" && h.UniqueID != nil {
		ack.ChannelID = h.UniqueID.ID
	}
	return ack
}

// pushHandler serves POST /_sim/push?status=Commit with a canonical
// reservation (in the channel's codes) as the body, and answers Roomwire's reply.
func (s *Sim) pushHandler(w http.ResponseWriter, r *http.Request) {
	var res canonical.Reservation
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&res); err != nil {
		http.Error(w, "push: body must be a canonical reservation: "+err.Error(), http.StatusBadRequest)
		return
	}
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "Commit"
	}
	out, err := s.Push(r.Context(), status, &res)
	if err != nil {
		http.Error(w, "push: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out) //nolint:errcheck
}
