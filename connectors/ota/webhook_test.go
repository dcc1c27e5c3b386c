package ota_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/reservations"
)

func TestWebhookNewModifyCancel(t *testing.T) {
	w := newWorld(t, ota.Config{})
	ctx := context.Background()
	res, err := w.sim.PushRaw(ctx, fixture(t, "resnotif-new.xml"))
	if err != nil || res.Status != 200 || res.RS.Success == nil {
		t.Fatalf("push: %d %+v %v", res.Status, res.RS, err)
	}
	ref := connectors.ConfirmationReference(ota.Name, "HTL-LIS-01", "4105882311")
	if got, _ := w.sim.Acks.Reference("4105882311"); got != ref {
		t.Errorf("confirmation reference %q, want %q", got, ref)
	}
	r, err := w.store.FindByExternalID(ctx, "LIS", "ota", "4105882311")
	if err != nil {
		t.Fatal(err)
	}
	if r.PropertyID != "LIS" || r.RoomStays[0].RoomType != "DBL" || r.Total != eur(28600) || r.Version != 1 {
		t.Errorf("stored %+v", r)
	}
	// The same message again changes nothing.
	if res, err := w.sim.PushRaw(ctx, fixture(t, "resnotif-new.xml")); err != nil || res.RS.Success == nil {
		t.Fatalf("repeat: %v", err)
	}
	if _, err := w.sim.PushRaw(ctx, fixture(t, "resnotif-modify.xml")); err != nil {
		t.Fatal(err)
	}
	r, _ = w.store.FindByExternalID(ctx, "LIS", "ota", "4105882311")
	if r.Version != 2 || r.RoomStays[0].Departure != date("2027-04-13") || r.Total != eur(41800) {
		t.Errorf("after modify: version %d departure %s total %s", r.Version, r.RoomStays[0].Departure, r.Total)
	}
	if _, err := w.sim.PushRaw(ctx, fixture(t, "resnotif-cancel.xml")); err != nil {
		t.Fatal(err)
	}
	r, _ = w.store.FindByExternalID(ctx, "LIS", "ota", "4105882311")
	if r.Status != canonical.StatusCancelled {
		t.Errorf("after cancel: %s", r.Status)
	}
	if n := w.sim.Acks.Count("4105882311"); n != 4 {
		t.Errorf("%d acknowledgements, want 4", n)
	}
}

func TestWebhookMultiRoomAndDuplicates(t *testing.T) {
	w := newWorld(t, ota.Config{})
	ctx := context.Background()
	msg, err := ota.Translator{}.ToCanonical(fixture(t, "resnotif-multiroom-children.xml"))
	if err != nil {
		t.Fatal(err)
	}
	w.sim.SetFaults(channelsimFaults(2))
	if res, err := w.sim.Push(ctx, "Book", &msg.Booking.Reservation); err != nil || res.RS.Success == nil {
		t.Fatalf("push: %+v %v", res, err)
	}
	page, err := w.store.List(ctx, reservations.AllProperties, reservations.Filter{Channel: "ota"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Version != 1 || len(page.Items[0].RoomStays) != 2 {
		t.Fatalf("three deliveries stored %d reservations", len(page.Items))
	}
	if got := page.Items[0].RoomStays[0].ChildrenAges; len(got) != 3 {
		t.Errorf("children %v", got)
	}
}

func post(t *testing.T, h http.Handler, body []byte, auth bool) (*httptest.ResponseRecorder, *ota.ResNotifRS) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/reservations", bytes.NewReader(body))
	if auth {
		req.SetBasicAuth("channel", inboundPassword)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var rs ota.ResNotifRS
	if _, err := connectors.DecodeXML(rec.Body.Bytes(), &rs, ota.RootResNotifRS, ota.RootResModifyNotifRS); err != nil {
		t.Fatalf("reply is not an OTA reply (%d): %v\n%s", rec.Code, err, rec.Body)
	}
	return rec, &rs
}

func TestWebhookRefusals(t *testing.T) {
	w := newWorld(t, ota.Config{})
	sink := &recordingSink{}
	h := w.conn.Webhook(sink)
	ref := fixture(t, "resnotif-new.xml")

	rec, rs := post(t, h, ref, false)
	if rec.Code != 401 || rs.Errors[0].Type != "4" || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %d %+v", rec.Code, rs.Errors)
	}
	rec, rs = post(t, h, ref[:200], true)
	if rec.Code != 200 || len(rs.Errors) != 1 || !strings.Contains(rs.Errors[0].Text, "truncated") {
		t.Errorf("truncated: %d %+v", rec.Code, rs.Errors)
	}
	rec, rs = post(t, h, bytes.Replace(ref, []byte(`End="2027-04-12"`), []byte(`End="2027-04-08"`), 1), true)
	if rec.Code != 200 || rs.Errors[0].Code != ota.CodeInvalidDate {
		t.Errorf("departure before arrival: %d %+v", rec.Code, rs.Errors)
	}
	rec, _ = post(t, h, append(ref, bytes.Repeat([]byte(" "), connectors.MaxMessageBytes)...), true)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", rec.Code)
	}
	if len(sink.bookings) != 0 {
		t.Fatalf("refused messages reached the sink: %d", len(sink.bookings))
	}

	// Unmapped codes: delivered (to wait in quarantine) and answered with an error naming the code.
	rec, rs = post(t, h, bytes.ReplaceAll(ref, []byte(`"DBL-SEA"`), []byte(`"DBL-SEAX"`)), true)
	if rec.Code != 200 || len(rs.Errors) != 1 || rs.Errors[0].Code != ota.CodeInvalidRoomType || !strings.Contains(rs.Errors[0].Text, `"DBL-SEAX"`) {
		t.Errorf("unmapped: %d %+v", rec.Code, rs.Errors)
	}
	if len(sink.bookings) != 1 {
		t.Errorf("the unmapped booking was not delivered for quarantine")
	}

	// Roomwire cannot make it durable: 503, so the partner sends it again.
	sink.err = connectors.Retryable(errors.New("kafka unavailable"))
	rec, rs = post(t, h, ref, true)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || rs.Errors[0].Code != ota.CodeSystemError {
		t.Errorf("sink down: %d %+v", rec.Code, rs.Errors)
	}
	if rs.Success != nil {
		t.Error("Success sent before the message was durable")
	}
}

func TestWebhookPOSAuth(t *testing.T) {
	w := newWorld(t, ota.Config{Auth: ota.AuthPOS})
	sink := &recordingSink{}
	h := w.conn.Webhook(sink)
	rec, rs := post(t, h, fixture(t, "resnotif-new.xml"), true) // basic auth alone is not enough
	if rec.Code != 401 || rs.Errors[0].Code != ota.CodeAuthorization {
		t.Errorf("no POS credentials: %d %+v", rec.Code, rs.Errors)
	}
	msg, _ := ota.Translator{}.ToCanonical(fixture(t, "resnotif-new.xml"))
	res, err := w.sim.Push(context.Background(), "Commit", &msg.Booking.Reservation)
	if err != nil || res.Status != 200 || res.RS.Success == nil {
		t.Fatalf("POS push: %+v %v", res, err)
	}
}

// A channel that sends a second change under the same LastModifyDateTime, or
// none at all, must see it applied: it was told Success.
func TestWebhookSecondChangeUnderSameRevisionIsApplied(t *testing.T) {
	modify := string(fixture(t, "resnotif-modify.xml"))
	noStamp := strings.Replace(modify, ` LastModifyDateTime="2027-03-05T16:40:01+00:00"`, "", 1)
	for name, body := range map[string]string{"same LastModifyDateTime": modify, "no LastModifyDateTime": noStamp} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, ota.Config{})
			ctx := context.Background()
			for i, text := range []string{"first change", "second change", "third change"} {
				msg := strings.Replace(body, "Extra night added; travelling with a child, cot please.", text, 1)
				res, err := w.sim.PushRaw(ctx, []byte(msg))
				if err != nil || res.RS.Success == nil {
					t.Fatalf("push %d: %+v %v", i, res, err)
				}
				r, err := w.store.FindByExternalID(ctx, "LIS", "ota", "4105882311")
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Comments) != 1 || r.Comments[0] != text {
					t.Fatalf("after push %d the stored comments are %q, want %q", i, r.Comments, text)
				}
			}
		})
	}
}

// Two reservations with one channel id in one message cannot both be
// applied; the message is refused whole rather than half-acknowledged.
func TestWebhookRefusesOneReservationTwiceInAMessage(t *testing.T) {
	w := newWorld(t, ota.Config{})
	ctx := context.Background()
	one := string(fixture(t, "resnotif-new.xml"))
	start, end := strings.Index(one, "<HotelReservation "), strings.Index(one, "</HotelReservation>")+len("</HotelReservation>")
	other := strings.Replace(one[start:end], `ResStatus="Commit"`, `ResStatus="Modify"`, 1)
	twice := one[:end] + other + one[end:]
	res, err := w.sim.PushRaw(ctx, []byte(twice))
	if err != nil {
		t.Fatal(err)
	}
	if res.RS.Success != nil || len(res.RS.Errors) != 1 || !strings.Contains(res.RS.Errors[0].Text, "4105882311") {
		t.Fatalf("answer %+v", res.RS)
	}
	if _, err := w.store.FindByExternalID(ctx, "LIS", "ota", "4105882311"); !errors.Is(err, reservations.ErrNotFound) {
		t.Fatalf("a refused message was applied: %v", err)
	}
}

// Card data written into any free text of an OTA message, however it is
// spelled, never reaches the store: it is masked (card_policy drop) or the
// message is refused (card_policy refuse).
func TestWebhookMasksOrRefusesCardDataInFreeText(t *testing.T) {
	spellings := []string{
		"pay with 4111.1111.1111.1111 cvv 737",
		"pay with 4111  1111  1111  1111 CVV: 737",
		"pay with 4111_1111_1111_1111, security code 737",
		"pay with 4111/1111/1111/1111 cvc2=737",
		"pay with ４１１１１１１１１１１１１１１１ cvv ７３７",
	}
	for _, policy := range []connectors.CardPolicy{connectors.CardDrop, connectors.CardRefuse} {
		for _, text := range spellings {
			t.Run(string(policy)+" "+text, func(t *testing.T) {
				w := newWorld(t, ota.Config{CardSetting: connectors.CardSetting{CardPolicy: policy}})
				ctx := context.Background()
				msg := strings.Replace(string(fixture(t, "resnotif-new.xml")), "</ResGlobalInfo>", "<SpecialRequests><SpecialRequest><Text>"+text+"</Text></SpecialRequest></SpecialRequests></ResGlobalInfo>", 1)
				res, err := w.sim.PushRaw(ctx, []byte(msg))
				if err != nil {
					t.Fatal(err)
				}
				r, ferr := w.store.FindByExternalID(ctx, "LIS", "ota", "4105882311")
				if policy == connectors.CardRefuse {
					if res.RS.Success != nil || !errors.Is(ferr, reservations.ErrNotFound) {
						t.Fatalf("refuse: answer %+v, stored %v", res.RS, ferr)
					}
					return
				}
				if res.RS.Success == nil || ferr != nil {
					t.Fatalf("drop: answer %+v, %v", res.RS, ferr)
				}
				stored := strings.Join(r.Comments, " | ")
				if canonical.ContainsCardData(stored) || strings.Contains(stored, "737") || strings.Contains(stored, "７３７") {
					t.Fatalf("card data stored: %q", stored)
				}
				if !strings.Contains(stored, "1111") {
					t.Fatalf("the mask lost the last four digits: %q", stored)
				}
			})
		}
	}
}

// What can be known before answering is checked before answering: the
// channel gets OTA Errors, never Success for a change that would then be
// dead-lettered.
func TestWebhookRefusesAtTheDoorWhatCannotBeApplied(t *testing.T) {
	w := newWorld(t, ota.Config{})
	ctx := context.Background()
	push := func(name string, body []byte) *ota.ResNotifRS {
		t.Helper()
		res, err := w.sim.PushRaw(ctx, body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res.RS
	}
	refused := func(name string, rs *ota.ResNotifRS, code string) {
		t.Helper()
		if rs.Success != nil || len(rs.Errors) != 1 || rs.Errors[0].Code != code {
			t.Fatalf("%s: answer %+v, want Errors with code %s", name, rs, code)
		}
	}
	refused("cancel of an unknown reservation", push("cancel", fixture(t, "resnotif-cancel.xml")), ota.CodeBookingNotFound)
	usd := strings.ReplaceAll(string(fixture(t, "resnotif-new.xml")), `CurrencyCode="EUR"`, `CurrencyCode="USD"`)
	refused("a booking in another currency than the hotel's", push("usd", []byte(usd)), ota.CodeInvalidCurrency)
	if _, err := w.store.FindByExternalID(ctx, "LIS", "ota", "4105882311"); !errors.Is(err, reservations.ErrNotFound) {
		t.Fatalf("a refused booking was stored: %v", err)
	}

	if rs := push("new", fixture(t, "resnotif-new.xml")); rs.Success == nil {
		t.Fatalf("new: %+v", rs)
	}
	if rs := push("cancel", fixture(t, "resnotif-cancel.xml")); rs.Success == nil {
		t.Fatalf("cancel: %+v", rs)
	}
	refused("a modification after the cancellation", push("modify", fixture(t, "resnotif-modify.xml")), ota.CodeAlreadyCancelled)
	commit := strings.Replace(string(fixture(t, "resnotif-new.xml")), "Extra", "Again", 1)
	commit = strings.Replace(commit, `LastModifyDateTime="2027-03-02T09:13:58+00:00"`, `LastModifyDateTime="2027-03-09T09:13:58+00:00"`, 1)
	refused("a commit after the cancellation", push("commit", []byte(commit)), ota.CodeAlreadyCancelled)
	if r, _ := w.store.FindByExternalID(ctx, "LIS", "ota", "4105882311"); r.Status != canonical.StatusCancelled || r.Version != 2 {
		t.Fatalf("after the refused changes: %s version %d", r.Status, r.Version)
	}
}

// correlationSink records the correlation id of each delivery.
type correlationSink struct {
	recordingSink
	ids []string
}

func (s *correlationSink) Deliver(ctx context.Context, b canonical.ChannelBooking) error {
	s.ids = append(s.ids, canonical.CorrelationID(ctx))
	return s.recordingSink.Deliver(ctx, b)
}

// A correlation id that would make the Kafka record unreadable is not
// carried on: the message keeps an id of its own and is delivered.
func TestWebhookDropsAnUnusableCorrelationID(t *testing.T) {
	w := newWorld(t, ota.Config{})
	sink := &correlationSink{}
	for _, bad := range []string{"\xff\xfe", "a\x00b", "a\x01b", strings.Repeat("x", 101)} {
		req := httptest.NewRequest(http.MethodPost, "/reservations", bytes.NewReader(fixture(t, "resnotif-new.xml")))
		req.SetBasicAuth("channel", inboundPassword)
		req.Header.Set(connectors.CorrelationHeader, bad)
		rec := httptest.NewRecorder()
		w.conn.Webhook(sink).ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<Success") {
			t.Fatalf("%q: %d %s", bad, rec.Code, rec.Body)
		}
		if got := sink.ids[len(sink.ids)-1]; !canonical.ValidCorrelationID(got) {
			t.Fatalf("%q: delivered with correlation id %q", bad, got)
		}
	}
}

// Success and Errors are a choice in the OTA schema: a Success reply holds
// no Errors or Warnings element, not even an empty one.
func TestSuccessReplyHasNoEmptyErrorsOrWarnings(t *testing.T) {
	w := newWorld(t, ota.Config{})
	req := httptest.NewRequest(http.MethodPost, "/reservations", bytes.NewReader(fixture(t, "resnotif-new.xml")))
	req.SetBasicAuth("channel", inboundPassword)
	rec := httptest.NewRecorder()
	w.conn.Webhook(w.sink).ServeHTTP(rec, req)
	body := rec.Body.String()
	if !strings.Contains(body, "<Success") || strings.Contains(body, "<Errors") || strings.Contains(body, "<Warnings") ||
		!strings.Contains(body, "<HotelReservations>") {
		t.Fatalf("reply: %s", body)
	}
}

// A cancellation that arrives while its booking is on its way to the store
// (accepted and made durable, not applied yet) is taken, not refused as a
// cancellation of an unknown reservation.
func TestWebhookTakesTheCancellationOfABookingOnItsWay(t *testing.T) {
	w := newWorld(t, ota.Config{})
	sink := &recordingSink{} // durable, as on Kafka, but not applied
	push := pushTo(t, w.conn.Webhook(sink))
	if rs := push("cancel before the booking", fixture(t, "resnotif-cancel.xml")); rs.Success != nil || len(rs.Errors) != 1 || rs.Errors[0].Code != ota.CodeBookingNotFound {
		t.Fatalf("a cancellation of a booking never received: %+v, want Errors with code %s", rs, ota.CodeBookingNotFound)
	}
	if rs := push("new", fixture(t, "resnotif-new.xml")); rs.Success == nil {
		t.Fatalf("new: %+v", rs)
	}
	if rs := push("cancel", fixture(t, "resnotif-cancel.xml")); rs.Success == nil {
		t.Fatalf("the cancellation of a booking accepted but not yet applied was refused: %+v", rs)
	}
	if len(sink.bookings) != 2 || sink.bookings[1].Action != canonical.ChannelCancel {
		t.Fatalf("delivered %d bookings, want the new one and its cancellation", len(sink.bookings))
	}
}

// A booking whose receipt cannot be written (the database connection cut
// between delivering it and recording it) is not answered Success: the
// channel is asked to send it again, and once the receipt is written a
// cancellation that follows at once is taken, not refused as unknown.
func TestWebhookDoesNotAnswerSuccessWithoutTheReceipt(t *testing.T) {
	w := newWorld(t, ota.Config{})
	ctx := context.Background()
	if _, err := w.pool.Exec(ctx, `CREATE FUNCTION refuse_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'receipts unavailable'; END $$;
		CREATE TRIGGER refuse_receipt BEFORE INSERT ON connector_receipts FOR EACH ROW EXECUTE FUNCTION refuse_receipt()`); err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{} // durable, as on Kafka, but not applied
	push := pushTo(t, w.conn.Webhook(sink))
	if rs := push("new, receipt refused", fixture(t, "resnotif-new.xml")); rs.Success != nil || len(rs.Errors) != 1 {
		t.Fatalf("a booking whose receipt was not written: %+v, want Errors asking to send it again", rs)
	}
	if _, err := w.pool.Exec(ctx, `DROP TRIGGER refuse_receipt ON connector_receipts`); err != nil {
		t.Fatal(err)
	}
	if rs := push("new, sent again", fixture(t, "resnotif-new.xml")); rs.Success == nil {
		t.Fatalf("the booking sent again: %+v", rs)
	}
	if rs := push("cancel", fixture(t, "resnotif-cancel.xml")); rs.Success == nil {
		t.Fatalf("the cancellation of the booking sent again was refused: %+v", rs)
	}
}

// A change that arrives while its booking's cancellation is on its way to
// the store (accepted and made durable, not applied yet) is refused as it
// will be once the cancellation is applied, not answered Success and then
// dead-lettered.
func TestWebhookRefusesAChangeOfABookingWhoseCancellationIsOnItsWay(t *testing.T) {
	w := newWorld(t, ota.Config{})
	ctx := context.Background()
	if res, err := w.sim.PushRaw(ctx, fixture(t, "resnotif-new.xml")); err != nil || res.RS.Success == nil {
		t.Fatalf("new: %+v %v", res, err)
	}
	sink := &recordingSink{} // durable, as on Kafka, but not applied
	push := pushTo(t, w.conn.Webhook(sink))
	if rs := push("cancel", fixture(t, "resnotif-cancel.xml")); rs.Success == nil {
		t.Fatalf("cancel: %+v", rs)
	}
	commit := strings.Replace(string(fixture(t, "resnotif-new.xml")), `LastModifyDateTime="2027-03-02T09:13:58+00:00"`, `LastModifyDateTime="2027-03-09T09:13:58+00:00"`, 1)
	for name, body := range map[string][]byte{"modify": fixture(t, "resnotif-modify.xml"), "commit": []byte(commit)} {
		if rs := push(name, body); rs.Success != nil || len(rs.Errors) != 1 || rs.Errors[0].Code != ota.CodeAlreadyCancelled {
			t.Fatalf("a %s racing its booking's accepted cancellation: %+v, want Errors with code %s", name, rs, ota.CodeAlreadyCancelled)
		}
	}
	if len(sink.bookings) != 1 || sink.bookings[0].Action != canonical.ChannelCancel {
		t.Fatalf("delivered %d bookings, want the cancellation alone", len(sink.bookings))
	}
	// The same cancellation again is still taken.
	if rs := push("cancel again", fixture(t, "resnotif-cancel.xml")); rs.Success == nil {
		t.Fatalf("cancel again: %+v", rs)
	}
}

// pushTo returns a function that posts an OTA message to the receiver h and
// reads its reply.
func pushTo(t *testing.T, h http.Handler) func(name string, body []byte) *ota.ResNotifRS {
	return func(name string, body []byte) *ota.ResNotifRS {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/reservations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.SetBasicAuth("channel", inboundPassword)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var rs ota.ResNotifRS
		if _, err := connectors.DecodeXML(rec.Body.Bytes(), &rs, ota.RootResNotifRS, ota.RootResModifyNotifRS); err != nil {
			t.Fatalf("%s: %v: %s", name, err, rec.Body.String())
		}
		return &rs
	}
}

// A multi-room booking is stored with each room's own total and guest, and
// a modification that removes a room is applied, not refused.
func TestWebhookMultiRoomKeepsEachRoomAndTakesARoomRemoved(t *testing.T) {
	w := newWorld(t, ota.Config{})
	ctx := context.Background()
	x := string(fixture(t, "resnotif-multiroom-children.xml"))
	if res, err := w.sim.PushRaw(ctx, []byte(x)); err != nil || res.RS.Success == nil {
		t.Fatalf("book: %+v %v", res, err)
	}
	r, err := w.store.FindByExternalID(ctx, "LIS", "ota", "HRS-88213")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.RoomStays) != 2 || r.RoomStays[0].Total == nil || *r.RoomStays[0].Total != eur(59400) || r.RoomGuest(1).Surname != "Kierkegård" {
		t.Fatalf("stored rooms %+v", r.RoomStays)
	}
	// The family room is dropped: the second RoomStay alone remains.
	start, end := strings.Index(x, "<RoomStay>"), strings.Index(x, "</RoomStay>")+len("</RoomStay>")
	mod := x[:start] + x[end:]
	mod = strings.Replace(mod, `ResStatus="Book"`, `ResStatus="Modify"`, 1)
	mod = strings.Replace(mod, `LastModifyDateTime="2027-03-03T11:19:40+01:00"`, `LastModifyDateTime="2027-03-04T08:00:00+01:00"`, 1)
	mod = strings.Replace(mod, `<Total AmountAfterTax="898.00" CurrencyCode="EUR"/>`, `<Total AmountAfterTax="304.00" CurrencyCode="EUR"/>`, 1)
	if res, err := w.sim.PushRaw(ctx, []byte(mod)); err != nil || res.RS.Success == nil {
		t.Fatalf("modify: %+v %v", res.RS, err)
	}
	r, _ = w.store.FindByExternalID(ctx, "LIS", "ota", "HRS-88213")
	if len(r.RoomStays) != 1 || r.RoomStays[0].RoomType != "DBL" || r.RoomGuest(0).Surname != "Kierkegård" || r.Version != 2 {
		t.Fatalf("after the room was removed: version %d, rooms %+v", r.Version, r.RoomStays)
	}
}
