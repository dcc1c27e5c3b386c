package adyen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/adyen"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// The reference item's signature, computed independently with
// openssl dgst -sha256 -mac HMAC -macopt hexkey:<key> over the ':'-joined fields.
const referenceSignature = "lZC8mjLM7iH9bptoGq6Lqk/X9CsXCnEFSQoRXar6sno="

func referenceItem(t *testing.T) adyen.NotificationRequestItem {
	var req adyen.NotificationRequest
	if err := json.Unmarshal(fixture(t, "notification.AUTHORISATION.json"), &req); err != nil {
		t.Fatal(err)
	}
	return req.NotificationItems[0].Item
}

func TestSignMatchesTheDocumentedAlgorithm(t *testing.T) {
	item := referenceItem(t)
	if got := item.SigningText(); got != "QFQTPCQ8HXSKGK82::RoomwireDemoECOM:RW-3PL8-2MZA:37950:EUR:AUTHORISATION:true" {
		t.Errorf("signing text %q", got)
	}
	if got := adyen.Sign(hmacKey, item); got != referenceSignature {
		t.Errorf("Sign = %s, want %s", got, referenceSignature)
	}
	item.AdditionalData["hmacSignature"] = referenceSignature
	if !adyen.Verify(hmacKey, item) {
		t.Error("Verify refuses the reference signature")
	}
	item.Amount.Value++
	if adyen.Verify(hmacKey, item) {
		t.Error("Verify accepts a changed amount")
	}
}

func TestNotificationBatchWithOneBadItemStoresNothing(t *testing.T) {
	pool := pgtest.Pool(t)
	conn, _ := harness(t, connectors.NewResources(pool, slog.New(slog.DiscardHandler)))
	svc, err := payments.New(payments.Config{DefaultGateway: adyen.Name}, reservations.New(pool), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddGateway(conn); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(conn.Webhook(nil))
	defer srv.Close()

	good := referenceItem(t)
	good.AdditionalData["hmacSignature"] = adyen.Sign(hmacKey, good)
	bad := good
	bad.AdditionalData = map[string]string{"hmacSignature": good.AdditionalData["hmacSignature"]}
	bad.PSPReference, bad.EventCode = "ZZZZ000000000001", "CAPTURE" // same signature, other fields
	post := func(items ...adyen.NotificationRequestItem) (int, string) {
		req := adyen.NotificationRequest{Live: "false"}
		for _, it := range items {
			req.NotificationItems = append(req.NotificationItems, adyen.NotificationItem{Item: it})
		}
		body, _ := json.Marshal(req)
		resp, err := http.Post(srv.URL+"/notifications", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	stored := func() int {
		var n int
		pool.QueryRow(context.Background(), `SELECT count(*) FROM payment_notifications`).Scan(&n)
		return n
	}
	if status, _ := post(good, bad); status != http.StatusBadRequest {
		t.Errorf("a batch with a bad item answered %d, want 400", status)
	}
	if n := stored(); n != 0 {
		t.Fatalf("%d notifications stored from a refused batch", n)
	}
	status, body := post(good)
	if status != http.StatusOK || body != "[accepted]" {
		t.Fatalf("a signed batch answered %d %q, want 200 [accepted]", status, body)
	}
	if n := stored(); n != 1 {
		t.Errorf("%d notifications stored, want 1", n)
	}
	if status, _ := post(good); status != http.StatusOK || stored() != 1 {
		t.Errorf("a repeated notification: %d, %d stored", status, stored())
	}
}

func TestNotificationKinds(t *testing.T) {
	for code, want := range map[string]payments.NotificationKind{
		"AUTHORISATION": payments.KindAuthorized, "AUTHORISATION_ADJUSTMENT": payments.KindAuthorized,
		"CAPTURE": payments.KindCaptured, "CAPTURE_FAILED": payments.KindCaptured, "CANCELLATION": payments.KindVoided,
		"REFUND": payments.KindRefunded, "EXPIRE": payments.KindExpired, "REPORT_AVAILABLE": payments.KindOther,
	} {
		item := adyen.NotificationRequestItem{PSPReference: "PSP1", OriginalReference: "ORIG1", EventCode: code, Success: "true",
			MerchantAccountCode: merchantAccount, Amount: adyen.Amount{Currency: "EUR", Value: 100}}
		item.AdditionalData = map[string]string{"hmacSignature": adyen.Sign(hmacKey, item)}
		body, _ := json.Marshal(adyen.NotificationRequest{NotificationItems: []adyen.NotificationItem{{Item: item}}})
		ns, err := adyen.ParseNotifications(body, hmacKey)
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		n := ns[0]
		if n.Kind != want || n.Reference != "ORIG1" || n.ID != "PSP1:"+code+":true" {
			t.Errorf("%s: %+v", code, n)
		}
		if n.Success == (code == "CAPTURE_FAILED") {
			t.Errorf("%s: success %v", code, n.Success)
		}
	}
}
