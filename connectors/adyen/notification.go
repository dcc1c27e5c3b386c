package adyen

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/payments"
)

// NotificationRequest is Adyen's standard notification: a batch of items.
type NotificationRequest struct {
	Live              string             `json:"live"`
	NotificationItems []NotificationItem `json:"notificationItems"`
}

// NotificationItem wraps one item, as Adyen nests it.
type NotificationItem struct {
	Item NotificationRequestItem `json:"NotificationRequestItem"`
}

// NotificationRequestItem is one event of one payment.
type NotificationRequestItem struct {
	AdditionalData      map[string]string `json:"additionalData,omitempty"`
	Amount              Amount            `json:"amount"`
	EventCode           string            `json:"eventCode"`
	EventDate           string            `json:"eventDate"`
	MerchantAccountCode string            `json:"merchantAccountCode"`
	MerchantReference   string            `json:"merchantReference"`
	OriginalReference   string            `json:"originalReference,omitempty"`
	PSPReference        string            `json:"pspReference"`
	Reason              string            `json:"reason,omitempty"`
	Success             string            `json:"success"`
}

// SigningText is what an item's HMAC is computed over: pspReference,
// originalReference, merchantAccountCode, merchantReference, value, currency,
// eventCode and success, joined by ':' (empty fields stay empty).
func (i NotificationRequestItem) SigningText() string {
	return strings.Join([]string{i.PSPReference, i.OriginalReference, i.MerchantAccountCode, i.MerchantReference,
		strconv.FormatInt(i.Amount.Value, 10), i.Amount.Currency, i.EventCode, i.Success}, ":")
}

// Sign returns the item's HMAC signature (base64 of HMAC-SHA256 under the
// hex-decoded key), as Adyen puts it in additionalData.hmacSignature.
func Sign(key []byte, i NotificationRequestItem) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(i.SigningText()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether the item carries a valid signature under key.
func Verify(key []byte, i NotificationRequestItem) bool {
	got, err := base64.StdEncoding.DecodeString(i.AdditionalData["hmacSignature"])
	if err != nil || len(key) == 0 {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(i.SigningText()))
	return hmac.Equal(got, m.Sum(nil))
}

// kinds maps Adyen's event codes to the flow's kinds.
var kinds = map[string]payments.NotificationKind{
	"AUTHORISATION":            payments.KindAuthorized,
	"AUTHORISATION_ADJUSTMENT": payments.KindAuthorized,
	"CAPTURE":                  payments.KindCaptured,
	"CAPTURE_FAILED":           payments.KindCaptured,
	"CANCELLATION":             payments.KindVoided,
	"REFUND":                   payments.KindRefunded,
	"REFUND_FAILED":            payments.KindRefunded,
	"EXPIRE":                   payments.KindExpired,
}

// maxItems bounds a batch; Adyen sends at most a few hundred.
const maxItems = 1000

// ParseNotifications verifies and reads a notification body: every item
// must carry a valid HMAC signature under key, or the whole batch is
// refused (and nothing of it stored).
func ParseNotifications(body []byte, key []byte) ([]payments.Notification, error) {
	var req NotificationRequest
	if err := connectors.DecodeJSON(body, &req); err != nil {
		return nil, payments.Refuse("adyen: notification: %v", err)
	}
	if len(req.NotificationItems) == 0 {
		return nil, payments.Refuse("adyen: notification has no items")
	}
	if len(req.NotificationItems) > maxItems {
		return nil, payments.Refuse("adyen: notification has %d items; at most %d are accepted", len(req.NotificationItems), maxItems)
	}
	out := make([]payments.Notification, 0, len(req.NotificationItems))
	for i, it := range req.NotificationItems {
		item := it.Item
		if !Verify(key, item) {
			return nil, payments.Refuse("adyen: notification item %d: missing or wrong HMAC signature", i)
		}
		if item.PSPReference == "" || item.EventCode == "" {
			return nil, payments.Refuse("adyen: notification item %d: pspReference and eventCode are required", i)
		}
		n := payments.Notification{
			// Adyen's own key of a notification: pspReference, eventCode, success.
			ID:                item.PSPReference + ":" + item.EventCode + ":" + item.Success,
			Kind:              payments.KindOther,
			EventCode:         item.EventCode,
			Reference:         item.PSPReference,
			MerchantReference: item.MerchantReference,
			Success:           item.Success == "true",
			Amount:            item.Amount.money(),
			Reason:            item.Reason,
		}
		if k, ok := kinds[item.EventCode]; ok {
			n.Kind = k
		}
		if strings.HasSuffix(item.EventCode, "_FAILED") {
			n.Success = false
		}
		if item.OriginalReference != "" {
			// A modification: the payment is the original authorisation.
			n.Reference = item.OriginalReference
		}
		if t, err := time.Parse(time.RFC3339, item.EventDate); err == nil {
			n.OccurredAt = t.UTC()
		}
		out = append(out, n)
	}
	return out, nil
}

// Webhook returns the receiver of Adyen's standard notifications, mounted
// at /v1/connectors/adyen/ (Adyen is pointed at .../adyen/notifications). It
// checks basic auth when configured and every item's HMAC; a batch with a
// bad signature gets 400 and records nothing. Once every item is stored it
// answers [accepted], and not before, so Adyen delivers again after a
// failure. The sink is not used: notifications belong to the payment flow.
func (c *Connector) Webhook(connectors.Sink) http.Handler {
	return c.Binding.Webhook(c.parseNotifications, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("[accepted]"))
	})
}

func (c *Connector) parseNotifications(h http.Header, body []byte) ([]payments.Notification, error) {
	if c.cfg.WebhookUser != "" {
		if !connectors.BasicAuthorized(&http.Request{Header: h}, c.cfg.WebhookUser, c.cfg.WebhookPassword) {
			return nil, &payments.WebhookError{Status: http.StatusUnauthorized, Message: "adyen: missing or wrong basic-auth credentials"}
		}
	}
	if len(c.hmacKey) == 0 {
		return nil, &payments.WebhookError{Status: http.StatusServiceUnavailable, Message: "adyen: no HMAC key is configured"}
	}
	return ParseNotifications(body, c.hmacKey)
}
