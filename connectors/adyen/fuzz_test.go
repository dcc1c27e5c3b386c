package adyen_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/roomwire/roomwire/connectors/adyen"
	"github.com/roomwire/roomwire/connectors/payments"
)

// FuzzNotifications feeds the notification parser arbitrary bodies: it
// never panics, refuses with a *payments.WebhookError, and accepts only
// items signed with the key.
func FuzzNotifications(f *testing.F) {
	raw := fixture(f, "notification.AUTHORISATION.json")
	f.Add(raw)
	var req adyen.NotificationRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		f.Fatal(err)
	}
	req.NotificationItems[0].Item.AdditionalData["hmacSignature"] = adyen.Sign(hmacKey, req.NotificationItems[0].Item)
	signed, _ := json.Marshal(req)
	f.Add(signed)
	f.Add([]byte(`{"notificationItems":[{"NotificationRequestItem":{"amount":{"value":1e300}}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ns, err := adyen.ParseNotifications(body, hmacKey)
		if err != nil {
			var we *payments.WebhookError
			if !errors.As(err, &we) {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		var parsed adyen.NotificationRequest
		if json.Unmarshal(body, &parsed) != nil || len(parsed.NotificationItems) != len(ns) {
			t.Fatalf("accepted %d notifications from a body that does not read back", len(ns))
		}
		for _, it := range parsed.NotificationItems {
			if !adyen.Verify(hmacKey, it.Item) {
				t.Fatal("accepted an item without a valid signature")
			}
		}
	})
}
