package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/connectors/notify/smtpsim"
)

func init() {
	registerSimulator("smtp", simulator{summary: "an SMTP relay (STARTTLS, AUTH PLAIN) that catches e-mail; GET /_sim/messages lists it", flags: smtpSimFlags})
	registerSimulator("webhooks", simulator{summary: "a webhook subscriber that verifies Standard Webhooks signatures; GET /_sim/received lists what came", flags: webhookSimFlags})
}

// smtpSimFlags runs the relay on --smtp-addr; the HTTP address shows what
// it caught and sets its faults.
func smtpSimFlags(fs *flag.FlagSet) func(*slog.Logger) (http.Handler, func(), error) {
	smtpAddr := fs.String("smtp-addr", "127.0.0.1:2525", "address the SMTP relay listens on")
	user := fs.String("user", "roomwire", "user allowed to authenticate")
	password := fs.String("password", os.Getenv("SMTP_SIM_PASSWORD"), "its password (env SMTP_SIM_PASSWORD; default: a fixed demo password)")
	certFile := fs.String("cert-file", "smtpsim-ca.pem", "where to write the relay's self-signed certificate, for notifications.email.ca_file")
	tempFail := fs.Float64("temp-fail-rate", 0, "fraction of messages refused with 451")
	dropRate := fs.Float64("drop-rate", 0, "fraction of conversations cut before DATA")
	return func(logger *slog.Logger) (http.Handler, func(), error) {
		if *tempFail < 0 || *tempFail > 1 || *dropRate < 0 || *dropRate > 1 {
			return nil, nil, errors.New("rates must be between 0 and 1")
		}
		pw := *password
		if pw == "" {
			pw = "smtp-sim-demo-password"
		}
		srv, err := smtpsim.Start(*smtpAddr, smtpsim.Options{Users: map[string]string{*user: pw}})
		if err != nil {
			return nil, nil, fmt.Errorf("SMTP relay on %s: %w", *smtpAddr, err)
		}
		if err := os.WriteFile(*certFile, srv.CertPEM(), 0o644); err != nil {
			srv.Close()
			return nil, nil, err
		}
		srv.SetFaults(smtpsim.Faults{TempFailRate: *tempFail, DropRate: *dropRate})
		logger.Info("SMTP relay listening", "addr", srv.Addr(), "user", *user, "ca_file", *certFile,
			"serve_config", fmt.Sprintf("notifications.email: {host: %s, port: %d, username: %s, ca_file: %s, from: ...}; password in ROOMWIRE_SMTP_PASSWORD",
				srv.Host(), srv.Port(), *user, *certFile))
		mux := http.NewServeMux()
		mux.HandleFunc("GET /_sim/messages", func(w http.ResponseWriter, r *http.Request) {
			type view struct {
				MessageID, From, Subject, Language, Text string
				To                                       []string
				ReceivedAt                               time.Time
			}
			out := []view{}
			for _, m := range srv.Messages() {
				out = append(out, view{MessageID: m.MessageID(), From: m.From, To: m.To, Subject: m.Header("Subject"),
					Language: m.Header("Content-Language"), Text: m.Part("text/plain"), ReceivedAt: m.ReceivedAt})
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"messages": out}) //nolint:errcheck // the client went away
		})
		return mux, func() { srv.Close() }, nil
	}
}

// webhookSimFlags is an integrator's endpoint: POST anywhere; it checks the
// signature with --secret (give the same secret when subscribing).
func webhookSimFlags(fs *flag.FlagSet) func(*slog.Logger) (http.Handler, func(), error) {
	secret := fs.String("secret", os.Getenv("WEBHOOK_SIM_SECRET"), "the subscription's whsec_ secret (env WEBHOOK_SIM_SECRET)")
	status := fs.Int("status", http.StatusNoContent, "status to answer")
	return func(logger *slog.Logger) (http.Handler, func(), error) {
		if *secret == "" {
			*secret = notify.NewSecret()
			logger.Info("no --secret: made one; subscribe with it", "secret", *secret)
		}
		type received struct {
			WebhookID, Type string
			Verified        bool
			Problem         string `json:",omitempty"`
			ReceivedAt      time.Time
		}
		var mu sync.Mutex
		var got []received
		mux := http.NewServeMux()
		mux.HandleFunc("GET /_sim/received", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"received": append([]received{}, got...)}) //nolint:errcheck // the client went away
		})
		mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			var n struct{ Type string }
			json.Unmarshal(body, &n) //nolint:errcheck // a bad body shows as an empty type
			x := received{WebhookID: r.Header.Get(notify.HeaderWebhookID), Type: n.Type, ReceivedAt: time.Now()}
			if err := notify.Verify(*secret, r.Header, body, 5*time.Minute, time.Now()); err != nil {
				x.Problem = err.Error()
			} else {
				x.Verified = true
			}
			logger.Info("webhook received", "webhook_id", x.WebhookID, "type", x.Type, "signature_verified", x.Verified)
			mu.Lock()
			got = append(got, x)
			mu.Unlock()
			w.WriteHeader(*status)
		})
		return mux, func() {}, nil
	}
}
