package config

import (
	"net/mail"
	"net/url"
	"regexp"
	"time"

	"github.com/roomwire/roomwire/connectors/notify"
)

var languageCode = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)

// validateNotifications checks the notifications section, naming each bad key.
func validateNotifications(n notify.Config, add func(key, format string, args ...any)) {
	if !languageCode.MatchString(n.DefaultLanguage) {
		add("notifications.default_language", "must be a language code such as en, pt or pt-BR, got %q", n.DefaultLanguage)
	}
	if n.Retention < time.Hour {
		add("notifications.retention", "must be at least 1h (it must outlast redeliveries), got %s", n.Retention)
	}
	w := n.Webhooks
	if w.Timeout < 100*time.Millisecond || w.Timeout > 5*time.Minute {
		add("notifications.webhooks.timeout", "must be between 100ms and 5m, got %s", w.Timeout)
	}
	if w.DisableAfterFailures < 1 {
		add("notifications.webhooks.disable_after_failures", "must be at least 1, got %d", w.DisableAfterFailures)
	}
	if w.DisableAfter < 0 {
		add("notifications.webhooks.disable_after", "must not be negative, got %s", w.DisableAfter)
	}
	if w.UnhealthyAfter < 100*time.Millisecond {
		add("notifications.webhooks.unhealthy_after", "must be at least 100ms, got %s", w.UnhealthyAfter)
	}
	e := n.Email
	if e.Host != "" {
		if e.Port < 1 || e.Port > 65535 {
			add("notifications.email.port", "must be a TCP port, got %d", e.Port)
		}
		if e.StartTLS == notify.StartTLSNone && e.Username != "" {
			add("notifications.email.starttls", "none would send the password in the clear; use required with a username")
		}
		if a, err := mail.ParseAddress(e.From); err != nil || a.Address == "" {
			add("notifications.email.from", "must be the sender, such as \"Hotel <bookings@example.com>\", got %q", e.From)
		}
		if e.Username != "" && e.Password == "" {
			add("notifications.email.password", "is needed with a username (env ROOMWIRE_SMTP_PASSWORD)")
		}
		if e.Timeout < time.Second {
			add("notifications.email.timeout", "must be at least 1s, got %s", e.Timeout)
		}
	}
	if n.SMS.Provider != "" {
		if u, err := url.Parse(n.SMS.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("notifications.sms.url", "must be the provider's http(s) endpoint, got %q", n.SMS.URL)
		}
	}
}
