package canonical

import "time"

// PaymentStatus is where a reservation's payment stands.
type PaymentStatus string

// The payment statuses. A payment starts authorized or failed; see
// docs/payments.md for the transitions between them.
const (
	// PaymentAuthorized: a hold on the guest's card, nothing charged yet.
	PaymentAuthorized PaymentStatus = "authorized"
	// PaymentCaptured: charged; what was held beyond the charge is released.
	PaymentCaptured PaymentStatus = "captured"
	// PaymentVoided: the hold was released and nothing was charged.
	PaymentVoided PaymentStatus = "voided"
	// PaymentRefunded: charged, then paid back in part or in full.
	PaymentRefunded PaymentStatus = "refunded"
	// PaymentFailed: the gateway declined or refused the authorization; the
	// reservation carries FlagPaymentDeclined.
	PaymentFailed PaymentStatus = "failed"
	// PaymentExpired: the hold lapsed at the gateway before it was captured
	// and could not be renewed.
	PaymentExpired PaymentStatus = "expired"
)

// Valid reports whether s is one of the known payment statuses.
func (s PaymentStatus) Valid() bool {
	switch s {
	case PaymentAuthorized, PaymentCaptured, PaymentVoided, PaymentRefunded, PaymentFailed, PaymentExpired:
		return true
	}
	return false
}

// PaymentOperation is one call to a payment gateway.
type PaymentOperation string

// The payment operations.
const (
	PaymentAuthorize   PaymentOperation = "authorize"   // place a hold
	PaymentAdjust      PaymentOperation = "adjust"      // change the held amount in place
	PaymentReauthorize PaymentOperation = "reauthorize" // replace the hold by a new one
	PaymentRenew       PaymentOperation = "renew"       // extend a hold close to expiry
	PaymentCapture     PaymentOperation = "capture"     // charge (part of) the hold
	PaymentVoid        PaymentOperation = "void"        // release the hold
	PaymentRefund      PaymentOperation = "refund"      // pay back (part of) a charge
)

// Payment is what a payment event says: one operation on a reservation's
// guarantee and where the payment stands after it. Like Guarantee, it never
// holds a card number or a token, only the card's mask. All amounts share
// the reservation's currency.
type Payment struct {
	ReservationID      string `json:"reservation_id"`
	ConfirmationNumber string `json:"confirmation_number,omitempty"`
	// ReservationVersion is the version of the reservation the operation
	// acted on (0 for operations no reservation change caused, such as a
	// hold renewal).
	ReservationVersion int              `json:"reservation_version"`
	Gateway            string           `json:"gateway"`             // the connector's name, e.g. "stripe"
	Reference          string           `json:"reference,omitempty"` // the gateway's id of the payment
	Operation          PaymentOperation `json:"operation"`
	Status             PaymentStatus    `json:"status"` // after the operation
	Amount             Money            `json:"amount"` // of this operation
	Authorized         Money            `json:"authorized"`
	Captured           Money            `json:"captured"`
	Refunded           Money            `json:"refunded"`
	CardMask           string           `json:"card_mask,omitempty"`
	// Reason says why: a gateway's decline reason, or "cancellation fee".
	Reason        string     `json:"reason,omitempty"`
	HoldExpiresAt *time.Time `json:"hold_expires_at,omitempty"`
}
