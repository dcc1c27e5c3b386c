package config

import (
	"net/mail"
	"net/url"
	"regexp"
	"time"
)

// Notifications configures webhooks to integrators, e-mail to guests and
// hotels, and SMS. Webhooks need no setting to work; e-mail runs when
// email.host is set, SMS when sms.provider is.
type Notifications struct {
	// DefaultLanguage of e-mail for properties that set none
	// (PUT /v1/properties/{id}/notifications).
	DefaultLanguage string `yaml:"default_language"`
	// Retention of webhook delivery logs and records of messages sent.
	Retention time.Duration  `yaml:"retention"`
	Webhooks  NotifyWebhooks `yaml:"webhooks"`
	Email     NotifyEmail    `yaml:"email"`
	SMS       NotifySMS      `yaml:"sms"`
}

// NotifyWebhooks tunes outbound webhooks.
type NotifyWebhooks struct {
	// AllowPrivateTargets lets subscriptions point at loopback, private and
	// link-local addresses. Off by default: a subscriber must not make the
	// hub call into its own network.
	AllowPrivateTargets bool `yaml:"allow_private_targets"`
	// AllowHTTP accepts plain http:// URLs; https only by default.
	AllowHTTP bool          `yaml:"allow_http"`
	Timeout   time.Duration `yaml:"timeout"`
	// A subscription failing DisableAfterFailures times in a row, over at
	// least DisableAfter, is disabled.
	DisableAfterFailures int           `yaml:"disable_after_failures"`
	DisableAfter         time.Duration `yaml:"disable_after"`
	// UnhealthyAfter: a partner whose messages have waited this long behind
	// its open circuit breaker is reported as channel.unhealthy.
	UnhealthyAfter time.Duration `yaml:"unhealthy_after"`
}

// NotifyEmail is the SMTP relay.
type NotifyEmail struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"` // or ROOMWIRE_SMTP_PASSWORD
	// StartTLS: required (default) or none (a relay on this machine only).
	StartTLS           string        `yaml:"starttls"`
	CAFile             string        `yaml:"ca_file"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify"`
	From               string        `yaml:"from"`
	Timeout            time.Duration `yaml:"timeout"`
}

// NotifySMS is the SMS provider: "webhook" POSTs JSON to url.
type NotifySMS struct {
	Provider string `yaml:"provider"`
	URL      string `yaml:"url"`
	Token    string `yaml:"token"` // or ROOMWIRE_SMS_TOKEN
}

func (n *Notifications) setDefaults() {
	if n.DefaultLanguage == "" {
		n.DefaultLanguage = "en"
	}
	if n.Retention == 0 {
		n.Retention = 30 * 24 * time.Hour
	}
	w := &n.Webhooks
	if w.Timeout == 0 {
		w.Timeout = 10 * time.Second
	}
	if w.DisableAfterFailures == 0 {
		w.DisableAfterFailures = 50
	}
	if w.DisableAfter == 0 {
		w.DisableAfter = 24 * time.Hour
	}
	if w.UnhealthyAfter == 0 {
		w.UnhealthyAfter = 5 * time.Minute
	}
	e := &n.Email
	if e.Port == 0 {
		e.Port = 587
	}
	if e.StartTLS == "" {
		e.StartTLS = "required"
	}
	if e.Timeout == 0 {
		e.Timeout = 30 * time.Second
	}
}

var languageCode = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)

func (n *Notifications) validate(add func(key, format string, args ...any)) {
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
		switch e.StartTLS {
		case "required":
		case "none":
			if e.Username != "" {
				add("notifications.email.starttls", "none would send the password in the clear; use required with a username")
			}
		default:
			add("notifications.email.starttls", "must be required or none, got %q", e.StartTLS)
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
	switch n.SMS.Provider {
	case "":
	case "webhook":
		if u, err := url.Parse(n.SMS.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("notifications.sms.url", "must be the provider's http(s) endpoint, got %q", n.SMS.URL)
		}
	default:
		add("notifications.sms.provider", "must be webhook (or empty for no SMS), got %q", n.SMS.Provider)
	}
}

// notificationEnvVars keep the relay's password and the SMS token out of
// the file.
var notificationEnvVars = []struct {
	name, key string
	set       func(*Config, string) error
}{
	{"ROOMWIRE_SMTP_PASSWORD", "notifications.email.password", func(c *Config, v string) error { c.Notifications.Email.Password = v; return nil }},
	{"ROOMWIRE_SMS_TOKEN", "notifications.sms.token", func(c *Config, v string) error { c.Notifications.SMS.Token = v; return nil }},
}

func init() {
	envVars = append(envVars, notificationEnvVars...)
}
