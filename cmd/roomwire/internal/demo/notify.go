package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/connectors/notify/smtpsim"
)

// demoNotify is what the demo needs to show notifications: an SMTP relay
// simulator that catches e-mail, and an integrator's webhook receiver.
type demoNotify struct {
	smtp         *smtpsim.Server
	smtpPassword string
	hookURL      string
	hookSecret   string
	mu           sync.Mutex
	hooks        []demoWebhook
}

// demoWebhook is one POST the receiver got, and whether its signature
// verified with the subscription's secret.
type demoWebhook struct {
	id, typ  string
	verified error
	body     string
}

// startNotifySims starts the relay and the webhook receiver; stop ends both.
func (d *demo) startNotifySims() (stop func(), err error) {
	n := &d.notify
	n.smtpPassword = rig.RandomHex(16)
	if n.smtp, err = smtpsim.Start("127.0.0.1:0", smtpsim.Options{Users: map[string]string{"roomwire-demo": n.smtpPassword}}); err != nil {
		return nil, fmt.Errorf("SMTP simulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.smtp.Close()
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	n.hookURL = "http://" + ln.Addr().String() + "/roomwire"
	stopHooks := serveDemoHTTP(ln, http.HandlerFunc(n.receive), d.logger)
	return func() { stopHooks(); n.smtp.Close() }, nil
}

func (n *demoNotify) receive(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	n.mu.Lock()
	defer n.mu.Unlock()
	err := errors.New("no subscription yet")
	if n.hookSecret != "" {
		err = notify.Verify(n.hookSecret, r.Header, body, 5*time.Minute, time.Now())
	}
	typ := ""
	if i := strings.Index(string(body), `"type":"`); i >= 0 {
		typ, _, _ = strings.Cut(string(body)[i+len(`"type":"`):], `"`)
	}
	n.hooks = append(n.hooks, demoWebhook{id: r.Header.Get(notify.HeaderWebhookID), typ: typ, verified: err, body: string(body)})
	w.WriteHeader(http.StatusNoContent)
}

// configureNotifications points e-mail at the relay simulator, trusting its
// certificate, and lets webhooks reach this machine.
func (d *demo) configureNotifications(stateDir string) error {
	n := &d.cfg.Notifications
	ca := filepath.Join(stateDir, "smtpsim-ca.pem")
	if err := os.WriteFile(ca, d.notify.smtp.CertPEM(), 0o644); err != nil {
		return err
	}
	n.Email = notify.EmailConfig{Host: d.notify.smtp.Host(), Port: d.notify.smtp.Port(), Username: "roomwire-demo",
		Password: d.notify.smtpPassword, StartTLS: "required", CAFile: ca, From: "Roomwire demo <bookings@roomwire.example>"}
	n.Webhooks.Targets = notify.TargetPolicy{AllowPrivate: true, AllowHTTP: true}
	n.Webhooks.UnhealthyAfter = 5 * time.Second
	return nil
}

// seedNotifications sets each demo property's language and front desk
// address, and subscribes the demo's receiver to new bookings.
func (d *demo) seedNotifications(ctx context.Context) error {
	settings := map[string]map[string]any{
		"LIS": {"language": "pt", "hotel_email": "frontdesk@lisbon-riverside.example"},
		"OPO": {"language": "en", "hotel_email": "lofts@porto-ribeira.example"},
	}
	for _, p := range d.hotel.Properties {
		if s, ok := settings[p.ID]; ok {
			if err := d.api(ctx, "PUT", "/v1/properties/"+p.ID+"/notifications", s, nil); err != nil {
				return err
			}
		}
	}
	var sub struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if err := d.api(ctx, "POST", "/v1/webhooks", map[string]any{"url": d.notify.hookURL,
		"events": []string{"reservation.created", "reservation.cancelled", "delivery.failed", "booking.unmapped"}}, &sub); err != nil {
		return err
	}
	d.notify.mu.Lock()
	d.notify.hookSecret = sub.Secret
	d.notify.mu.Unlock()
	d.setup("notify", "LIS e-mails in Portuguese, OPO in English, through the SMTP simulator on %s; webhook %s to %s",
		d.notify.smtp.Addr(), sub.ID, d.notify.hookURL)
	return nil
}

// checkNotified waits for the guest's confirmation e-mail and the signed
// webhook of reservation r, and shows the e-mail as the guest gets it.
func (d *demo) checkNotified(ctx context.Context, r *canonical.Reservation) error {
	var mail smtpsim.Message
	_, err := d.waitFor(ctx, "confirmation e-mail caught by the SMTP simulator", func(context.Context) (string, error) {
		n := 0
		for _, m := range d.notify.smtp.Messages() {
			if !strings.Contains(m.Part("text/plain"), r.ConfirmationNumber) {
				continue
			}
			n++
			if len(m.To) == 1 && m.To[0] == r.PrimaryGuest.Email {
				mail = m
			}
		}
		if mail.Data == nil || n < 2 {
			return "", errors.New("not caught yet")
		}
		return fmt.Sprintf("to %s in %q, over STARTTLS as %s; %d messages for %s (the guest's and the front desk's)",
			r.PrimaryGuest.Email, mail.Header("Content-Language"), mail.User, n, r.ConfirmationNumber), nil
	})
	if err != nil {
		return err
	}
	d.say("            Subject: %s", mail.Header("Subject"))
	for _, line := range strings.Split(strings.TrimSpace(mail.Part("text/plain")), "\n") {
		d.say("            | %s", strings.TrimRight(line, "\r"))
	}
	_, err = d.waitFor(ctx, "signed webhook at the integrator's receiver", func(context.Context) (string, error) {
		d.notify.mu.Lock()
		defer d.notify.mu.Unlock()
		for _, h := range d.notify.hooks {
			if h.typ == notify.EventReservationCreated && strings.Contains(h.body, r.ConfirmationNumber) {
				if h.verified != nil {
					return "", h.verified
				}
				return fmt.Sprintf("reservation.created, webhook-id %s, signature verified with the subscription's secret", h.id), nil
			}
		}
		return "", errors.New("not received yet")
	})
	return err
}
