package adyen

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/payments"
)

// Amount is Adyen's amount: minor units and an ISO 4217 code.
type Amount struct {
	Currency string `json:"currency"`
	Value    int64  `json:"value"`
}

func amountOf(m canonical.Money) Amount { return Amount{Currency: m.Currency, Value: m.Minor} }

func (a Amount) money() canonical.Money { return canonical.NewMoney(a.Value, a.Currency) }

// PaymentRequest is the body of POST /payments.
type PaymentRequest struct {
	Amount                   Amount            `json:"amount"`
	Reference                string            `json:"reference"`
	MerchantAccount          string            `json:"merchantAccount"`
	PaymentMethod            PaymentMethod     `json:"paymentMethod"`
	ShopperReference         string            `json:"shopperReference"`
	ShopperInteraction       string            `json:"shopperInteraction"`
	RecurringProcessingModel string            `json:"recurringProcessingModel"`
	AdditionalData           map[string]string `json:"additionalData,omitempty"`
	Metadata                 map[string]string `json:"metadata,omitempty"`
}

// PaymentMethod names the stored card to charge.
type PaymentMethod struct {
	Type                  string `json:"type"`
	StoredPaymentMethodID string `json:"storedPaymentMethodId"`
}

// PaymentResponse is the answer of POST /payments.
type PaymentResponse struct {
	PSPReference      string  `json:"pspReference"`
	ResultCode        string  `json:"resultCode"`
	RefusalReason     string  `json:"refusalReason,omitempty"`
	RefusalReasonCode string  `json:"refusalReasonCode,omitempty"`
	MerchantReference string  `json:"merchantReference,omitempty"`
	Amount            *Amount `json:"amount,omitempty"`
}

// ModificationRequest is the body of amountUpdates, captures, cancels and refunds.
type ModificationRequest struct {
	MerchantAccount string  `json:"merchantAccount"`
	Amount          *Amount `json:"amount,omitempty"`
	Reference       string  `json:"reference,omitempty"`
	IndustryUsage   string  `json:"industryUsage,omitempty"`
}

// ModificationResponse is Adyen's answer to a modification: received now,
// confirmed later by a notification.
type ModificationResponse struct {
	MerchantAccount     string  `json:"merchantAccount"`
	PaymentPSPReference string  `json:"paymentPspReference"`
	PSPReference        string  `json:"pspReference"`
	Reference           string  `json:"reference,omitempty"`
	Status              string  `json:"status"`
	Amount              *Amount `json:"amount,omitempty"`
}

// ServiceError is Adyen's error answer.
type ServiceError struct {
	Status       int    `json:"status"`
	ErrorCode    string `json:"errorCode"`
	Message      string `json:"message"`
	ErrorType    string `json:"errorType"`
	PSPReference string `json:"pspReference,omitempty"`
}

func describeError(status int, body []byte) string {
	var e ServiceError
	if err := connectors.DecodeJSON(body, &e); err != nil || (e.ErrorCode == "" && e.Message == "") {
		return ""
	}
	return fmt.Sprintf("%s %s: %s", e.ErrorType, e.ErrorCode, e.Message)
}

// post sends body as JSON with the API key and the idempotency key.
func (c *Connector) post(ctx context.Context, path, route, key string, body, out any) error {
	h := http.Header{}
	h.Set("X-API-Key", c.cfg.APIKey)
	h.Set(connectors.IdempotencyHeader, key)
	_, err := c.Client.DoJSON(ctx, connectors.Request{Method: http.MethodPost, URL: c.cfg.APIURL + path, Route: route, Header: h}, body, out)
	return err
}

// splitToken reads a card token as "shopperReference:storedPaymentMethodId"
// (Adyen ties stored cards to a shopper); a bare id is taken as stored for
// the reservation itself.
func splitToken(token, reservationID string) (shopper, stored string) {
	if s, id, ok := strings.Cut(token, ":"); ok && s != "" && id != "" {
		return s, id
	}
	return reservationID, token
}

// Authorize pre-authorises req.Amount on the stored card.
func (c *Connector) Authorize(ctx context.Context, req payments.Request) (payments.Result, error) {
	shopper, stored := splitToken(req.CardToken, req.ReservationID)
	body := PaymentRequest{
		Amount:                   amountOf(req.Amount),
		Reference:                req.ReservationID,
		MerchantAccount:          c.cfg.MerchantAccount,
		PaymentMethod:            PaymentMethod{Type: "scheme", StoredPaymentMethodID: stored},
		ShopperReference:         shopper,
		ShopperInteraction:       "ContAuth",
		RecurringProcessingModel: "UnscheduledCardOnFile",
		AdditionalData:           map[string]string{"authorisationType": "PreAuth"},
		Metadata:                 map[string]string{"roomwire_reservation": req.ReservationID, "property": req.PropertyID, "confirmation_number": req.ConfirmationNumber},
	}
	var resp PaymentResponse
	if err := c.post(ctx, "/payments", "/payments", req.IdempotencyKey, body, &resp); err != nil {
		return payments.Result{}, err
	}
	switch resp.ResultCode {
	case "Authorised":
		return payments.Result{Reference: resp.PSPReference, Amount: req.Amount, HoldExpiresAt: c.cfg.Now().Add(time.Duration(c.cfg.HoldFor))}, nil
	case "Refused", "Cancelled":
		return payments.Result{}, &payments.DeclineError{Gateway: c.Name(), Code: resp.RefusalReasonCode,
			Reason: connectors.SafeText(resp.RefusalReason, 200)}
	case "Error":
		return payments.Result{}, connectors.Retryable(fmt.Errorf("adyen: /payments: resultCode Error: %s", connectors.SafeText(resp.RefusalReason, 200)))
	}
	// RedirectShopper, IdentifyShopper...: the issuer wants the guest present,
	// which an off-session guarantee cannot do.
	return payments.Result{}, &payments.DeclineError{Gateway: c.Name(), Code: resp.ResultCode, Reason: "the issuer asks for the shopper"}
}

// modify posts a modification of the payment req.Reference.
func (c *Connector) modify(ctx context.Context, what string, req payments.Request, body ModificationRequest) (payments.Result, error) {
	body.MerchantAccount = c.cfg.MerchantAccount
	body.Reference = req.ReservationID
	var resp ModificationResponse
	if err := c.post(ctx, "/payments/"+url.PathEscape(req.Reference)+"/"+what, "/payments/{pspReference}/"+what,
		req.IdempotencyKey, body, &resp); err != nil {
		return payments.Result{}, err
	}
	if resp.Status != "received" {
		return payments.Result{}, connectors.Permanent(fmt.Errorf("adyen: %s of %s: status %q", what, req.Reference, connectors.SafeText(resp.Status, 40)))
	}
	return payments.Result{Reference: req.Reference, Amount: req.Amount}, nil
}

// Adjust sets the pre-authorised amount to req.Amount, which also extends
// the authorisation (industryUsage delayedCharge).
func (c *Connector) Adjust(ctx context.Context, req payments.Request) (payments.Result, error) {
	a := amountOf(req.Amount)
	res, err := c.modify(ctx, "amountUpdates", req, ModificationRequest{Amount: &a, IndustryUsage: "delayedCharge"})
	if err == nil {
		res.HoldExpiresAt = c.cfg.Now().Add(time.Duration(c.cfg.HoldFor))
	}
	return res, err
}

// Capture captures req.Amount; the rest of the authorisation is released.
func (c *Connector) Capture(ctx context.Context, req payments.Request) (payments.Result, error) {
	a := amountOf(req.Amount)
	return c.modify(ctx, "captures", req, ModificationRequest{Amount: &a})
}

// Void cancels the authorisation.
func (c *Connector) Void(ctx context.Context, req payments.Request) (payments.Result, error) {
	return c.modify(ctx, "cancels", req, ModificationRequest{})
}

// Refund refunds req.Amount of the capture.
func (c *Connector) Refund(ctx context.Context, req payments.Request) (payments.Result, error) {
	a := amountOf(req.Amount)
	return c.modify(ctx, "refunds", req, ModificationRequest{Amount: &a})
}
