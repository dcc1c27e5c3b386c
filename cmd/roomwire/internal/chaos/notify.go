package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/connectors/notify/smtpsim"
)

// chaosNotify is the notification side of a chaos run: an SMTP relay
// simulator for serve's e-mail and a subscriber's webhook receiver, both
// with faults of their own.
type chaosNotify struct {
	smtp         *smtpsim.Server
	smtpPassword string
	caFile       string
	hookSrv      *http.Server
	hookURL      string
	subID        string
	fault        atomic.Value // string: the partner fault the receiver plays
	failed       atomic.Int64 // POSTs the receiver failed on purpose

	mu     sync.Mutex
	secret string
	hooks  []chaosHook
}

// chaosHook is one POST the receiver answered 2xx.
type chaosHook struct {
	webhookID, bodyID, typ string
	verified               error
}

const (
	chaosMailDomain = "chaos.example"
	chaosHotelEmail = "frontdesk@" + chaosMailDomain
)

// startNotify starts the relay and the receiver.
func (c *chaosRun) startNotify() error {
	n := &c.notify
	n.fault.Store("")
	n.smtpPassword = rig.RandomHex(16)
	var err error
	if n.smtp, err = smtpsim.Start("127.0.0.1:0", smtpsim.Options{Users: map[string]string{"roomwire-chaos": n.smtpPassword}}); err != nil {
		return err
	}
	n.caFile = filepath.Join(c.stateDir, "smtpsim-ca.pem")
	if err := os.WriteFile(n.caFile, n.smtp.CertPEM(), 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	n.hookURL = "http://" + ln.Addr().String() + "/hooks"
	n.hookSrv = &http.Server{Handler: http.HandlerFunc(n.receive), ReadHeaderTimeout: 5 * time.Second}
	go n.hookSrv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed
	return nil
}

func (c *chaosRun) stopNotify() {
	if c.notify.hookSrv != nil {
		c.notify.hookSrv.Close()
	}
	if c.notify.smtp != nil {
		c.notify.smtp.Close()
	}
}

// receive is the subscriber: it fails as the current fault says, and
// otherwise keeps what it was sent and whether the signature verified.
func (n *chaosNotify) receive(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	switch n.fault.Load() {
	case faultPartner5xx:
		if time.Now().UnixNano()%2 == 0 {
			n.failed.Add(1)
			w.WriteHeader(http.StatusBadGateway)
			return
		}
	case faultPartner429:
		if time.Now().UnixNano()%2 == 0 {
			n.failed.Add(1)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
	case faultPartnerHang:
		if time.Now().UnixNano()%3 == 0 {
			// Past serve's timeout: serve cannot know whether this one
			// counted, and must send it again with the same id.
			n.failed.Add(1)
			time.Sleep(1500 * time.Millisecond)
		}
	}
	var b struct{ ID, Type string }
	json.Unmarshal(body, &b) //nolint:errcheck // an empty id is reported by the check
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hooks = append(n.hooks, chaosHook{webhookID: r.Header.Get(notify.HeaderWebhookID), bodyID: b.ID, typ: b.Type,
		verified: notify.Verify(n.secret, r.Header, body, 5*time.Minute, time.Now())})
	w.WriteHeader(http.StatusNoContent)
}

// notifyConfig is serve's notifications section: e-mail through the relay
// (STARTTLS, AUTH; the password in ROOMWIRE_SMTP_PASSWORD), webhooks to
// this machine.
func (c *chaosRun) notifyConfig() map[string]any {
	return map[string]any{
		"email": map[string]any{"host": c.notify.smtp.Host(), "port": c.notify.smtp.Port(), "username": "roomwire-chaos",
			"starttls": "required", "ca_file": c.notify.caFile, "from": "Roomwire chaos <bookings@" + chaosMailDomain + ">", "timeout": "2s"},
		"webhooks": map[string]any{"allow_private_targets": true, "allow_http": true, "timeout": "1s"},
	}
}

// setUpNotify gives both hotels a front desk address and a language, and
// subscribes the receiver to every reservation change.
func (c *chaosRun) setUpNotify(ctx context.Context) error {
	for i, p := range chaosProperties {
		body, _ := json.Marshal(map[string]any{"language": []string{"pt", "en"}[i%2], "hotel_email": chaosHotelEmail})
		if r := c.call(ctx, http.MethodPut, "/v1/properties/"+p+"/notifications", nil, body); r.status != http.StatusOK {
			return fmt.Errorf("PUT /v1/properties/%s/notifications: %s", p, r.describe())
		}
	}
	body, _ := json.Marshal(map[string]any{"url": c.notify.hookURL,
		"events": []string{notify.EventReservationCreated, notify.EventReservationModified, notify.EventReservationCancelled}})
	r := c.call(ctx, http.MethodPost, "/v1/webhooks", nil, body)
	var sub struct{ ID, Secret string }
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &sub) != nil {
		return fmt.Errorf("POST /v1/webhooks: %s", r.describe())
	}
	c.notify.mu.Lock()
	c.notify.secret, c.notify.subID = sub.Secret, sub.ID
	c.notify.mu.Unlock()
	return nil
}

// notifyFault makes the relay and the receiver fail as partners do under
// kind ("" heals them): refusals, a relay that is down, cut conversations
// and a subscriber slower than serve's timeout.
func (c *chaosRun) notifyFault(kind string) {
	var f smtpsim.Faults
	switch kind {
	case faultPartner5xx:
		f.TempFailRate = 0.5
	case faultPartner429:
		f.Down = true
	case faultPartnerHang:
		f.DropRate = 0.3
	}
	c.notify.smtp.SetFaults(f)
	c.notify.fault.Store(kind)
}

// notifyFailures counts the SMTP conversations and webhook POSTs failed
// on purpose so far.
func (c *chaosRun) notifyFailures() int {
	return c.notify.smtp.Failed() + int(c.notify.failed.Load())
}

// failsNotifications reports whether the partner fault kind makes the relay
// or the receiver fail notifications (notifyFault, receive).
// duplicate_webhooks fails none.
func failsNotifications(kind string) bool {
	switch kind {
	case faultPartner5xx, faultPartner429, faultPartnerHang:
		return true
	}
	return false
}

// holdNotifyFault keeps a partner fault that fails notifications on until
// it has failed a few: e-mail and webhooks trail the bookings, so a short
// window can pass before they come. The load waits at the next fault's
// operation meanwhile, so a fault that fails none is not held.
func (c *chaosRun) holdNotifyFault(ctx context.Context, kind string, before int) {
	if !failsNotifications(kind) {
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for c.notifyFailures() < before+5 && time.Now().Before(deadline) && ctx.Err() == nil {
		chaosSleep(ctx, 50*time.Millisecond)
	}
}

// checkNotifications holds e-mail and webhooks to "once per event": every
// e-mail the relay accepted has a Message-ID of one event's message, none
// came twice, and each event the e-mail consumer handled has its guest and
// front desk messages; every webhook verified, carried an event's id as
// webhook-id, and reached the receiver unless its delivery was dead-lettered.
func (c *chaosRun) checkNotifications(ctx context.Context, rep *chaosReport, processed, deadMsg map[string]bool) error {
	type event struct {
		id, typ, guestEmail string
		transition          bool
	}
	var events []event
	rows, _ := c.pool.Query(ctx, `SELECT event_id::text, event_type, coalesce(payload->'reservation'->'primary_guest'->>'email', ''),
		payload ? 'transition' FROM outbox WHERE topic = $1`, canonical.TopicReservationEvents)
	var e event
	if _, err := pgx.ForEachRow(rows, []any{&e.id, &e.typ, &e.guestEmail, &e.transition}, func() error { events = append(events, e); return nil }); err != nil {
		return err
	}
	mails := map[string]int{}
	arrivals := map[string][]time.Time{}
	for _, m := range c.notify.smtp.Messages() {
		mails[m.MessageID()]++
		arrivals[m.MessageID()] = append(arrivals[m.MessageID()], m.ReceivedAt)
	}
	expected := map[string]bool{}
	hooksByID := map[string]int{}
	c.notify.mu.Lock()
	hooks := append([]chaosHook(nil), c.notify.hooks...)
	subID := c.notify.subID
	c.notify.mu.Unlock()
	eventIDs := map[string]bool{}
	for _, h := range hooks {
		hooksByID[h.webhookID]++
	}
	for _, e := range events {
		eventIDs[e.id] = true
		kinds := map[string]string{
			string(canonical.EventReservationCreated):   notify.KindGuestConfirmation,
			string(canonical.EventReservationModified):  notify.KindGuestModification,
			string(canonical.EventReservationCancelled): notify.KindGuestCancellation,
		}
		guest, ok := kinds[e.typ]
		if !ok {
			continue
		}
		var want []string
		if !(e.transition && e.typ == string(canonical.EventReservationModified)) { // check-in and the like: no e-mail
			want = append(want, notify.KindHotelNotification)
		}
		if e.guestEmail != "" && len(want) > 0 {
			want = append(want, guest)
		}
		mailDone := processed["notify.email/"+e.id] && !deadMsg["notify.email/"+e.id]
		for _, k := range want {
			id := notify.MailID(e.id, k) + "@" + chaosMailDomain
			expected[id] = true
			if mailDone {
				rep.checked(invNotify)
				if mails[id] == 0 {
					rep.fail(invNotify, "%s e-mail of event %s (%s) was handled but never reached the relay", k, e.id, e.typ)
				}
			}
		}
		did := notify.DeliveryMessageID(subID, e.id)
		if processed["notify.webhooks/"+did] && !deadMsg["notify.webhooks/"+did] {
			rep.checked(invNotify)
			if hooksByID[e.id] == 0 {
				rep.fail(invNotify, "webhook of event %s (%s) was handled but never reached the subscriber", e.id, e.typ)
			}
		}
	}
	// SMTP cannot say "once": a serve killed, or cut from PostgreSQL,
	// between the relay's acceptance and the record of the send sends the
	// message again, under the same Message-ID, which mail clients take for
	// one message. Such a repeat is counted; any other is a violation.
	repeatedAfterCrash := 0
	for id, n := range mails {
		rep.checked(invNotify)
		switch {
		case !expected[id]:
			rep.fail(invNotify, "e-mail %s is no event's message (a new id?)", id)
		case n > 1:
			at := arrivals[id]
			sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
			for i := 1; i < len(at); i++ {
				if !c.faults.between(at[i-1], at[i], faultServeKill, faultPGCut) {
					rep.fail(invNotify, "e-mail %s reached the relay %d times, with no crash of serve between", id, n)
					break
				}
				repeatedAfterCrash++
			}
		}
	}
	rep.Figures["emails_repeated_same_id_after_a_crash"] = repeatedAfterCrash
	if repeatedAfterCrash > 0 {
		rep.Notes = append(rep.Notes, "an e-mail the relay accepted just before serve was killed (or lost PostgreSQL) is sent again under the same Message-ID; mail clients show it once")
	}
	redelivered := 0
	for _, h := range hooks {
		rep.checked(invNotify)
		switch {
		case h.verified != nil:
			rep.fail(invNotify, "webhook %s: %v", h.webhookID, h.verified)
		case h.webhookID != h.bodyID || !eventIDs[h.webhookID]:
			rep.fail(invNotify, "webhook with id %q (body id %q) is no event's", h.webhookID, h.bodyID)
		}
	}
	for _, n := range hooksByID {
		redelivered += n - 1
	}
	rep.Figures["emails_accepted"] = len(mails)
	rep.Figures["smtp_conversations_failed_on_purpose"] = c.notify.smtp.Failed()
	rep.Figures["webhook_attempts_failed_on_purpose"] = int(c.notify.failed.Load())
	rep.Figures["webhooks_received"] = len(hooks)
	rep.Figures["webhooks_redelivered_same_id"] = redelivered
	if redelivered > 0 {
		rep.Notes = append(rep.Notes, "a webhook the subscriber took longer to answer than serve's timeout is sent again with the same webhook-id, as Standard Webhooks expects")
	}
	return nil
}

// chaosGuestEmail is the address of a chaos guest.
func chaosGuestEmail(who string, i int) string {
	return strings.ToLower(fmt.Sprintf("%s%d@%s", who, i, chaosMailDomain))
}
