package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/router"
)

// The STARTTLS modes of EmailConfig.
const (
	StartTLSRequired = "required" // refuse a relay that does not offer it
	StartTLSNone     = "none"     // plain connection (a relay on this machine)
)

// EmailConfig is the SMTP relay e-mail goes through. E-mail is off while
// Host is empty.
type EmailConfig struct {
	Host string `yaml:"host" zero:"no e-mail" doc:"the SMTP relay"`
	Port int    `yaml:"port" default:"587" min:"1" max:"65535"`
	// Username and Password authenticate with AUTH PLAIN, only ever over TLS.
	Username string `yaml:"username"`
	Password string `yaml:"password" env:"ROOMWIRE_SMTP_PASSWORD" secret:"true"`
	StartTLS string `yaml:"starttls" default:"required" enum:"required,none" doc:"none only for a relay on this machine without a password"`
	// CAFile (PEM) or RootCAs verify the relay's certificate.
	CAFile             string         `yaml:"ca_file" zero:"the system's CAs" doc:"PEM bundle to trust the relay's certificate"`
	RootCAs            *x509.CertPool `yaml:"-"`
	InsecureSkipVerify bool           `yaml:"insecure_skip_verify"`
	From               string         `yaml:"from" doc:"the sender, e.g. \"Lisbon Riverside <bookings@example.com>\""`
	HeloName           string         `yaml:"helo_name" default:"roomwire" doc:"the name this host gives the relay"`
	Timeout            time.Duration  `yaml:"timeout" default:"30s" min:"1s" doc:"one whole SMTP conversation"`
}

// Enabled reports whether e-mail is configured.
func (c EmailConfig) Enabled() bool { return c.Host != "" }

func (c *EmailConfig) setDefaults() { spec.SetDefaults(c, nil) }

// Validate reports the first bad setting.
func (c EmailConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("notify: email port %d is not a TCP port", c.Port)
	}
	if c.StartTLS != StartTLSRequired && c.StartTLS != StartTLSNone {
		return fmt.Errorf("notify: email starttls must be %s or %s, got %q", StartTLSRequired, StartTLSNone, c.StartTLS)
	}
	if c.Username != "" && c.StartTLS == StartTLSNone {
		return errors.New("notify: email: a username and password are sent only over STARTTLS; set starttls: required")
	}
	if a, err := mail.ParseAddress(c.From); err != nil || !strings.Contains(a.Address, "@") {
		return fmt.Errorf("notify: email from %q must be an address such as \"Hotel <bookings@example.com>\"", c.From)
	}
	return nil
}

// Mailer sends e-mail through the configured relay, one SMTP conversation
// per message.
type Mailer struct {
	cfg    EmailConfig
	from   *mail.Address
	domain string
	tls    *tls.Config
}

// NewMailer checks cfg and prepares the TLS settings.
func NewMailer(cfg EmailConfig) (*Mailer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	from, _ := mail.ParseAddress(cfg.From)
	m := &Mailer{cfg: cfg, from: from, domain: from.Address[strings.LastIndex(from.Address, "@")+1:]}
	m.tls = &tls.Config{ServerName: cfg.Host, RootCAs: cfg.RootCAs, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in, for test relays
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("notify: email ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("notify: email ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		m.tls.RootCAs = pool
	}
	return m, nil
}

// Mail is one message to send.
type Mail struct {
	To        string
	MessageID string // without angle brackets; unique per event and kind
	Rendered
}

// messageID returns a Message-ID in the sender's domain.
func (m *Mailer) messageID(id string) string { return id + "@" + m.domain }

// Send delivers one message. An SMTP 5xx answer is permanent; anything else
// (4xx, a dropped connection, a timeout) is worth retrying.
func (m *Mailer) Send(ctx context.Context, msg Mail) error {
	body, err := m.compose(msg)
	if err != nil {
		return router.Permanent(err)
	}
	err = m.converse(ctx, msg.To, body)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return router.Permanent(fmt.Errorf("smtp: relay refused the message: %d %s", te.Code, te.Msg))
	}
	return err
}

func (m *Mailer) converse(ctx context.Context, to string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: connect to %s: %w", addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)                                              //nolint:errcheck // a failed deadline shows as a failed read
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) //nolint:errcheck // unblocks a read on cancel
	defer stop()
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		return fmt.Errorf("smtp: greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(m.cfg.HeloName); err != nil {
		return fmt.Errorf("smtp: EHLO: %w", err)
	}
	if m.cfg.StartTLS == StartTLSRequired {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return router.Permanentf("smtp: relay %s does not offer STARTTLS, which is required (email starttls)", addr)
		}
		if err := c.StartTLS(m.tls); err != nil {
			return fmt.Errorf("smtp: STARTTLS: %w", err)
		}
	}
	if m.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.cfg.Host)); err != nil {
			return fmt.Errorf("smtp: AUTH: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("smtp: message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: end of message: %w", err)
	}
	c.Quit() //nolint:errcheck // the message is accepted; a failed goodbye changes nothing
	return nil
}

// compose writes the message: headers, then a plain-text part and, when
// the template has one, an HTML alternative.
func (m *Mailer) compose(msg Mail) ([]byte, error) {
	to, err := mail.ParseAddress(msg.To)
	if err != nil {
		return nil, errors.New("recipient is not an e-mail address")
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", m.from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", msg.Subject))
	h("Date", time.Now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.messageID(msg.MessageID)+">")
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	if msg.Language != "" {
		h("Content-Language", msg.Language)
	}
	if msg.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, msg.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	h("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	b.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{{"text/plain", msg.Text}, {"text/html", msg.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), mw.Close()
}

func writeQP(b *bytes.Buffer, s string) error {
	qp := quotedprintable.NewWriter(b)
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	return qp.Close()
}
