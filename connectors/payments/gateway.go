// Package payments is Roomwire's payment flow: it secures guaranteed
// reservations at a payment gateway, driven by reservation events. A card
// guarantee is authorized (a hold for the reservation's total), the hold
// follows modifications (adjusted in place or re-authorized), is captured
// when the rate plan's policy says (at booking, check-in or check-out), and a
// cancellation voids it or charges the policy's fee and releases or refunds
// the rest. Each reservation's payment is a small state machine in
// PostgreSQL; every transition is recorded and published as a payment.*
// event through the transactional outbox, in the same transaction. Holds
// close to expiry are renewed (or flagged when they cannot be), and a
// decline flags the reservation.
//
// Gateways (connectors/stripe, connectors/adyen) implement Gateway and embed
// Binding, which gives them the connectors.Outbound method the hub's
// consumer calls and a place to store verified notifications. Shared
// simulator machinery for gateways is in payments/gatewaysim, and the suite
// every gateway passes is payments/paymentstest.
package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/roomwire/roomwire/canonical"
)

// Gateway is a payment gateway as the payment flow uses it. Every method
// takes an idempotency key that the implementation sends with its call, so
// that repeating a call (after a timeout, a crash or a redelivery) has one
// effect. Errors are classified as the connectors SDK does (retryable,
// permanent); a declined card is a *DeclineError.
type Gateway interface {
	// Name is the connector's registered name, e.g. "stripe".
	Name() string
	// Features says what the gateway can do beyond the basic operations.
	Features() Features
	// Authorize places a hold of req.Amount on req.CardToken.
	Authorize(ctx context.Context, req Request) (Result, error)
	// Adjust changes the amount held by req.Reference to req.Amount (the new
	// total), extending the hold. Only called when Features().Adjust.
	Adjust(ctx context.Context, req Request) (Result, error)
	// Capture charges req.Amount of the hold req.Reference and releases the
	// rest of it.
	Capture(ctx context.Context, req Request) (Result, error)
	// Void releases the hold req.Reference without charging anything.
	Void(ctx context.Context, req Request) (Result, error)
	// Refund pays back req.Amount of what req.Reference charged.
	Refund(ctx context.Context, req Request) (Result, error)
}

// Features are what a gateway declares it can do. The flow and the gateway
// suite (paymentstest) act on them.
type Features struct {
	// Adjust: the amount of a hold can be raised or lowered, and its expiry
	// extended, in place (Adyen's authorisation adjustment). Without it a
	// higher amount or a renewal places a new hold and voids the old one.
	Adjust bool
	// PartialCapture: less than the held amount can be captured, and the
	// rest is released.
	PartialCapture bool
	// PartialRefund: less than the captured amount can be refunded.
	PartialRefund bool
}

// Request is one gateway operation. It holds the card token, which is a
// secret of the gateway account: its LogValue leaves the token out.
type Request struct {
	// IdempotencyKey is sent with the call; see Key.
	IdempotencyKey string
	// Reference is the gateway's id of the payment (every operation but
	// Authorize).
	Reference string
	// ReservationID, ConfirmationNumber and PropertyID tell the gateway (and
	// its notifications) which reservation the payment is for.
	ReservationID      string
	ConfirmationNumber string
	PropertyID         string
	// Amount is what to hold, capture or refund; for Adjust, the new total
	// held.
	Amount canonical.Money
	// CardToken is the gateway's token of the guest's card (Authorize only).
	CardToken string
}

// LogValue leaves the card token out of logs.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("idempotency_key", r.IdempotencyKey),
		slog.String("reference", r.Reference),
		slog.String("reservation_id", r.ReservationID),
		slog.String("amount", r.Amount.String()),
	)
}

// Result is a gateway's answer to a successful operation.
type Result struct {
	// Reference is the gateway's id of the payment (for Authorize, the new one).
	Reference string
	// Amount is the amount the operation applied to.
	Amount canonical.Money
	// HoldExpiresAt is when an authorization lapses unless captured or
	// renewed (zero when the gateway does not say).
	HoldExpiresAt time.Time
}

// DeclineError is a gateway's refusal of a card: declined, insufficient
// funds, expired card. Trying again with the same card cannot help, so it is
// permanent; the flow records it as payment.failed and flags the reservation.
type DeclineError struct {
	Gateway string
	Code    string // the gateway's decline code, e.g. insufficient_funds
	Reason  string // the gateway's explanation, redacted
}

func (e *DeclineError) Error() string {
	s := fmt.Sprintf("%s: card declined", e.Gateway)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Permanent reports true: the router must not retry a decline.
func (e *DeclineError) Permanent() bool { return true }

// IsDecline reports whether err is (or wraps) a *DeclineError.
func IsDecline(err error) bool {
	var d *DeclineError
	return errors.As(err, &d)
}

// Key returns the idempotency key of operation op on a reservation at one of
// its versions: the same event always makes the same key, so a redelivered
// event repeats no effect at the gateway, and a later version is a new
// request. Keys stay under Stripe's 255 characters.
func Key(reservationID string, version int, op canonical.PaymentOperation) string {
	return fmt.Sprintf("roomwire-%s-v%d-%s", reservationID, version, op)
}

// renewKey is the idempotency key of renewing a hold that expires at
// expires: one renewal per hold, however often the check runs.
func renewKey(reservationID string, expires time.Time) string {
	return fmt.Sprintf("roomwire-%s-renew-%d", reservationID, expires.Unix())
}

// GatewayLogger returns logger without its debug records, for a gateway's
// HTTP client: the SDK client logs request and answer bodies at debug level,
// and a gateway's bodies carry card tokens (Stripe's payment_method,
// Adyen's storedPaymentMethodId), which must never be logged.
func GatewayLogger(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(minLevel{logger.Handler(), slog.LevelInfo})
}

// minLevel drops records below level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
