// Package adyensim simulates the part of Adyen's Checkout API Roomwire uses:
// POST /payments with a stored card and authorisationType PreAuth, and the
// modifications /payments/{pspReference}/amountUpdates, /captures, /cancels
// and /refunds, with X-API-Key authentication and Idempotency-Key handling.
// Every change is told in a standard notification whose items carry the
// HMAC signature Adyen computes. Holds expire; chosen tokens and amounts
// are refused; 5xx answers and timeouts are switches (gatewaysim.Faults).
package adyensim

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/roomwire/roomwire/connectors/adyen"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
)

// RefusedTokens are stored-card ids the simulator always refuses.
var RefusedTokens = []string{"refused_card"}

// Config configures the simulator.
type Config struct {
	// APIKey is the X-API-Key callers must present.
	APIKey string
	// MerchantAccount is the only merchant account accepted.
	MerchantAccount string
	// WebhookURL and HMACKey (raw bytes, not hex): where notifications go
	// and the key their items are signed with.
	WebhookURL string
	HMACKey    []byte
	// Sim configures holds, clock and fault randomness.
	Sim gatewaysim.Config
}

// Sim is the Adyen simulator, an http.Handler serving the API and the
// /_sim/ controls.
type Sim struct {
	*gatewaysim.Core
	cfg Config
}

// New returns a simulator.
func New(cfg Config) *Sim {
	s := &Sim{Core: gatewaysim.NewFor(cfg.Sim, gatewaysim.Partner{
		NewID:      randomPSP,
		WebhookURL: cfg.WebhookURL,
		HoldFor:    adyen.DefaultHoldFor,
		Declined:   RefusedTokens,
	}), cfg: cfg}
	api := http.NewServeMux()
	api.HandleFunc("POST /payments", s.payments)
	api.HandleFunc("POST /payments/{psp}/amountUpdates", s.modification("amountUpdates"))
	api.HandleFunc("POST /payments/{psp}/captures", s.modification("captures"))
	api.HandleFunc("POST /payments/{psp}/cancels", s.modification("cancels"))
	api.HandleFunc("POST /payments/{psp}/refunds", s.modification("refunds"))
	s.Serve(api, gatewaysim.RequireKey(apiKey, cfg.APIKey, unauthorized), writeError, s.expired, "/payments", "/payments/")
	return s
}

func apiKey(r *http.Request) string { return r.Header.Get("X-API-Key") }

func unauthorized(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, adyen.ServiceError{Status: 401, ErrorCode: "000", Message: "HTTP Status Response - Unauthorized", ErrorType: "security"})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	typ := "internal"
	if status >= 400 && status < 500 {
		typ = "validation"
	}
	writeJSON(w, status, adyen.ServiceError{Status: status, ErrorCode: "000", Message: msg, ErrorType: typ})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(v); err != nil {
		writeJSON(w, 400, adyen.ServiceError{Status: 400, ErrorCode: "702", Message: "Structure of the request is invalid", ErrorType: "validation"})
		return false
	}
	return true
}

func (s *Sim) payments(w http.ResponseWriter, r *http.Request) {
	var req adyen.PaymentRequest
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.MerchantAccount != s.cfg.MerchantAccount:
		writeJSON(w, 403, adyen.ServiceError{Status: 403, ErrorCode: "901", Message: "Invalid Merchant Account", ErrorType: "security"})
		return
	case req.Amount.Value <= 0 || len(req.Amount.Currency) != 3:
		writeJSON(w, 422, adyen.ServiceError{Status: 422, ErrorCode: "137", Message: "Invalid amount specified", ErrorType: "validation"})
		return
	case req.PaymentMethod.StoredPaymentMethodID == "" || req.ShopperReference == "":
		writeJSON(w, 422, adyen.ServiceError{Status: 422, ErrorCode: "14_012", Message: "storedPaymentMethodId and shopperReference are required", ErrorType: "validation"})
		return
	case req.AdditionalData["authorisationType"] != "PreAuth":
		writeJSON(w, 422, adyen.ServiceError{Status: 422, ErrorCode: "000", Message: "The simulator only pre-authorises (authorisationType PreAuth)", ErrorType: "validation"})
		return
	}
	if s.Unknown(req.PaymentMethod.StoredPaymentMethodID) {
		writeJSON(w, 422, adyen.ServiceError{Status: 422, ErrorCode: "800", Message: "Contract not found", ErrorType: "validation"})
		return
	}
	h, decline := s.Authorize(req.PaymentMethod.StoredPaymentMethodID, req.Amount.Value, req.Amount.Currency,
		req.Metadata["roomwire_reservation"], req.Reference, req.Metadata["property"])
	if decline != nil {
		psp := randomPSP()
		writeJSON(w, 200, adyen.PaymentResponse{PSPReference: psp, ResultCode: "Refused", RefusalReason: refusal(decline.Code),
			RefusalReasonCode: "2", MerchantReference: req.Reference})
		s.notify(adyen.NotificationRequestItem{Amount: req.Amount, EventCode: "AUTHORISATION", MerchantReference: req.Reference,
			PSPReference: psp, Reason: refusal(decline.Code), Success: "false"})
		return
	}
	writeJSON(w, 200, adyen.PaymentResponse{PSPReference: h.ID, ResultCode: "Authorised", MerchantReference: req.Reference,
		Amount: &adyen.Amount{Currency: h.Currency, Value: h.Authorized}})
	s.notify(adyen.NotificationRequestItem{Amount: req.Amount, EventCode: "AUTHORISATION", MerchantReference: req.Reference,
		PSPReference: h.ID, Reason: "058135:0000:03/2030", Success: "true"})
}

func refusal(code string) string {
	if code == "insufficient_funds" {
		return "Not enough balance"
	}
	return "Refused"
}

// events are the notification codes of each modification.
var events = map[string]string{"amountUpdates": "AUTHORISATION_ADJUSTMENT", "captures": "CAPTURE", "cancels": "CANCELLATION", "refunds": "REFUND"}

func (s *Sim) modification(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req adyen.ModificationRequest
		if !decode(w, r, &req) {
			return
		}
		if req.MerchantAccount != s.cfg.MerchantAccount {
			writeJSON(w, 403, adyen.ServiceError{Status: 403, ErrorCode: "901", Message: "Invalid Merchant Account", ErrorType: "security"})
			return
		}
		psp := r.PathValue("psp")
		var amount int64
		if req.Amount != nil {
			amount = req.Amount.Value
		} else if what != "cancels" {
			writeJSON(w, 422, adyen.ServiceError{Status: 422, ErrorCode: "100", Message: "No amount specified", ErrorType: "validation"})
			return
		}
		var h gatewaysim.Hold
		var err error
		switch what {
		case "amountUpdates":
			h, err = s.Adjust(psp, amount)
		case "captures":
			h, err = s.Capture(psp, amount)
		case "cancels":
			h, err = s.Void(psp)
		case "refunds":
			h, err = s.Refund(psp, amount)
		}
		switch err {
		case nil:
		case gatewaysim.ErrNoHold:
			writeJSON(w, 422, adyen.ServiceError{Status: 422, ErrorCode: "167", Message: "Original pspReference required for this operation", ErrorType: "validation"})
			return
		default:
			writeJSON(w, 422, adyen.ServiceError{Status: 422, ErrorCode: "000", Message: "The payment is " + h.Status + "; " + err.Error(), ErrorType: "validation"})
			return
		}
		mod := randomPSP()
		resp := adyen.ModificationResponse{MerchantAccount: req.MerchantAccount, PaymentPSPReference: psp, PSPReference: mod,
			Reference: req.Reference, Status: "received", Amount: req.Amount}
		writeJSON(w, http.StatusCreated, resp)
		item := adyen.NotificationRequestItem{EventCode: events[what], MerchantReference: h.MerchantReference,
			OriginalReference: psp, PSPReference: mod, Success: "true", Amount: adyen.Amount{Currency: h.Currency, Value: amount}}
		s.notify(item)
	}
}

// expired tells of holds that lapsed with EXPIRE notifications.
func (s *Sim) expired(holds []gatewaysim.Hold) {
	for _, h := range holds {
		s.notify(adyen.NotificationRequestItem{EventCode: "EXPIRE", MerchantReference: h.MerchantReference,
			OriginalReference: h.ID, PSPReference: randomPSP(), Success: "true", Amount: adyen.Amount{Currency: h.Currency}})
	}
}

// notify sends one signed notification item.
func (s *Sim) notify(item adyen.NotificationRequestItem) {
	item.MerchantAccountCode = s.cfg.MerchantAccount
	item.EventDate = s.Now().Format(time.RFC3339)
	item.AdditionalData = map[string]string{"hmacSignature": adyen.Sign(s.cfg.HMACKey, item)}
	body, _ := json.Marshal(adyen.NotificationRequest{Live: "false", NotificationItems: []adyen.NotificationItem{{Item: item}}})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	s.Send(body, h)
}

func randomPSP() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return strings.ToUpper(string(b))
}
