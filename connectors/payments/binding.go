package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations/bookingapi"
)

// Binding joins a gateway connector to the payment flow. A gateway embeds
// *Binding: that gives it HandleEvent (so it is a connectors.Outbound the
// hub can give a consumer of reservation events) and a webhook receiver that
// stores verified notifications. Service.AddGateway attaches the flow.
type Binding struct {
	gateway string
	logger  *slog.Logger
	svc     atomic.Pointer[Service]
}

// NewBinding returns the binding of the gateway connector called gateway.
func NewBinding(gateway string, logger *slog.Logger) *Binding {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Binding{gateway: gateway, logger: logger}
}

// Attach connects the flow; Service.AddGateway calls it.
func (b *Binding) Attach(s *Service) { b.svc.Store(s) }

// Service returns the attached flow, or nil.
func (b *Binding) Service() *Service { return b.svc.Load() }

// errDetached is the wiring mistake of running a gateway's consumer without
// its flow.
var errDetached = errors.New("no payment flow attached; the hub must pass the connector to payments.Service.AddGateway")

// HandleEvent acts on a reservation event of a property that uses this
// gateway, and ignores every other event.
func (b *Binding) HandleEvent(ctx context.Context, e canonical.Event) error {
	s := b.svc.Load()
	if s == nil {
		return connectors.Retryable(fmt.Errorf("%s: %w", b.gateway, errDetached))
	}
	return s.HandleEventFor(ctx, b.gateway, e)
}

// ParseFunc authenticates and parses one webhook delivery. It returns a
// *WebhookError for a delivery to refuse (a bad or stale signature, a
// malformed body), and otherwise the notifications it carries.
type ParseFunc func(header http.Header, body []byte) ([]Notification, error)

// WebhookError is a refused webhook delivery: Status is the HTTP answer.
type WebhookError struct {
	Status  int
	Message string
}

func (e *WebhookError) Error() string { return e.Message }

// Refuse returns a *WebhookError answered with 400.
func Refuse(format string, args ...any) error {
	return &WebhookError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// webhookCode is the problem code of a refused notification's status.
func webhookCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return bookingapi.CodeUnauthorized
	case http.StatusServiceUnavailable:
		return bookingapi.CodeUnavailable
	}
	return bookingapi.CodeBadRequest
}

// maxWebhookBytes bounds a delivery; Adyen batches up to a few hundred items.
const maxWebhookBytes = 1 << 20

// Webhook returns the gateway's notification receiver: POST only; the body
// is authenticated and parsed by parse, stored by the flow, and only then
// acknowledged with accept. A refused delivery records nothing; a storage
// failure answers 503, so that the gateway delivers again.
func (b *Binding) Webhook(parse ParseFunc, accept func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			bookingapi.WriteProblem(w, r, http.StatusMethodNotAllowed, bookingapi.CodeMethodNotAllowed, "notifications are received with POST")
			return
		}
		body, err := connectors.ReadLimited(r.Body, maxWebhookBytes)
		if err != nil {
			bookingapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, bookingapi.CodePayloadTooLarge, err.Error())
			return
		}
		ns, err := parse(r.Header, body)
		if err != nil {
			status := http.StatusBadRequest
			var we *WebhookError
			if errors.As(err, &we) && we.Status != 0 {
				status = we.Status
			}
			// Neither the body nor the signature is logged: only why.
			b.logger.WarnContext(r.Context(), "webhook refused", "gateway", b.gateway, "status", status,
				"error", connectors.SafeText(err.Error(), 200))
			bookingapi.WriteProblem(w, r, status, webhookCode(status), connectors.SafeText(err.Error(), 200))
			return
		}
		s := b.svc.Load()
		if s == nil {
			bookingapi.WriteProblem(w, r, http.StatusServiceUnavailable, bookingapi.CodeUnavailable, "the payment flow is not running yet; deliver again")
			return
		}
		if err := s.Record(r.Context(), b.gateway, ns); err != nil {
			b.logger.ErrorContext(r.Context(), "webhook not stored", "gateway", b.gateway,
				"error", connectors.SafeText(err.Error(), 300))
			w.Header().Set("Retry-After", "30")
			bookingapi.WriteProblem(w, r, http.StatusServiceUnavailable, bookingapi.CodeUnavailable, "not stored; deliver again")
			return
		}
		b.logger.InfoContext(r.Context(), "webhook stored", "gateway", b.gateway, "notifications", len(ns))
		accept(w)
	})
}
