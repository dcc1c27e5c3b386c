package config

import (
	"net/mail"
	"regexp"

	"github.com/roomwire/roomwire/connectors/notify"
)

var languageCode = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)

// validateNotifications checks the notifications section, naming each bad key.
func validateNotifications(n notify.Config, add func(key, format string, args ...any)) {
	if !languageCode.MatchString(n.DefaultLanguage) {
		add("notifications.default_language", "must be a language code such as en, pt or pt-BR, got %q", n.DefaultLanguage)
	}
	e := n.Email
	if e.Host != "" {
		if e.StartTLS == notify.StartTLSNone && e.Username != "" {
			add("notifications.email.starttls", "none would send the password in the clear; use required with a username")
		}
		if a, err := mail.ParseAddress(e.From); err != nil || a.Address == "" {
			add("notifications.email.from", "must be the sender, such as \"Hotel <bookings@example.com>\", got %q", e.From)
		}
		if e.Username != "" && e.Password == "" {
			add("notifications.email.password", "is needed with a username (env ROOMWIRE_SMTP_PASSWORD)")
		}
	}
	if n.SMS.Provider != "" && n.SMS.URL == "" {
		add("notifications.sms.url", "is required with a provider: the provider's http(s) endpoint")
	}
}
