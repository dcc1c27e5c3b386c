package sim

import (
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/roomwire/roomwire/connectors/adyen/adyensim"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/connectors/stripe/stripesim"
)

// The payment gateways' simulators, `roomwire sim stripe|adyen`. Importing
// them also links the stripe and adyen connectors into the binary.
func init() {
	registerSimulator("stripe", simulator{summary: "the Stripe API (PaymentIntents, refunds) with signed webhooks and fault switches", flags: stripeSimFlags})
	registerSimulator("adyen", simulator{summary: "the Adyen Checkout API (pre-authorisation, modifications) with HMAC-signed notifications", flags: adyenSimFlags})
}

// gatewaySimFlags declares the switches both gateway simulators share and
// returns how to read them once parsed.
func gatewaySimFlags(fs *flag.FlagSet) func() (gatewaysim.Config, gatewaysim.Faults, error) {
	errorRate := fs.Float64("error-rate", 0, "fraction of API calls answered 500, half of them after making the change (0 to 1)")
	timeoutRate := fs.Float64("timeout-rate", 0, "fraction of API calls that hang")
	hangFor := fs.Duration("hang-for", 30*time.Second, "how long a hanging call hangs")
	status := fs.Int("status", 0, "answer every API call with this status")
	declineTokens := fs.String("decline-tokens", "", "comma-separated card tokens whose authorizations are declined")
	declineAbove := fs.Int64("decline-above", 0, "decline authorizations above this many minor units (0: none)")
	rejectTokens := fs.String("reject-tokens", "", "comma-separated card tokens the gateway does not know (invalid request)")
	dups := fs.Int("duplicate-webhooks", 0, "extra deliveries of each webhook")
	holdFor := fs.Duration("hold-for", 0, "how long an authorization lasts (default: the gateway's)")
	seed := fs.Uint64("seed", 0, "seed of the fault decisions (0: random)")
	return func() (gatewaysim.Config, gatewaysim.Faults, error) {
		for _, r := range []float64{*errorRate, *timeoutRate} {
			if r < 0 || r > 1 {
				return gatewaysim.Config{}, gatewaysim.Faults{}, errors.New("rates must be between 0 and 1")
			}
		}
		f := gatewaysim.Faults{Status: *status, ErrorRate: *errorRate, TimeoutRate: *timeoutRate, HangFor: *hangFor,
			DeclineTokens: splitList(*declineTokens), DeclineAbove: *declineAbove, RejectTokens: splitList(*rejectTokens),
			DuplicateWebhooks: *dups}
		return gatewaysim.Config{HoldFor: *holdFor, Seed: *seed}, f, nil
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func stripeSimFlags(fs *flag.FlagSet) func(*slog.Logger) (http.Handler, func(), error) {
	secretKey := fs.String("secret-key", envOr("STRIPE_SIM_SECRET_KEY", "sk_test_roomwire_sim"), "API key callers must send (env STRIPE_SIM_SECRET_KEY)")
	webhookURL := fs.String("webhook-url", "", "where to send webhooks, e.g. http://127.0.0.1:8080/v1/connectors/stripe/webhooks")
	webhookSecret := fs.String("webhook-secret", envOr("STRIPE_SIM_WEBHOOK_SECRET", "whsec_roomwire_sim"), "endpoint secret webhooks are signed with (env STRIPE_SIM_WEBHOOK_SECRET)")
	common := gatewaySimFlags(fs)
	return func(logger *slog.Logger) (http.Handler, func(), error) {
		cfg, faults, err := common()
		if err != nil {
			return nil, nil, err
		}
		cfg.Logger = logger
		sim := stripesim.New(stripesim.Config{SecretKey: *secretKey, WebhookURL: *webhookURL, WebhookSecret: *webhookSecret, Sim: cfg})
		sim.SetFaults(faults)
		return sim, sim.Close, nil
	}
}

func adyenSimFlags(fs *flag.FlagSet) func(*slog.Logger) (http.Handler, func(), error) {
	apiKey := fs.String("api-key", envOr("ADYEN_SIM_API_KEY", "AQE_roomwire_sim_key"), "X-API-Key callers must send (env ADYEN_SIM_API_KEY)")
	merchant := fs.String("merchant-account", "RoomwireDemoECOM", "the merchant account accepted")
	webhookURL := fs.String("webhook-url", "", "where to send notifications, e.g. http://127.0.0.1:8080/v1/connectors/adyen/notifications")
	hmacKey := fs.String("hmac-key", envOr("ADYEN_SIM_HMAC_KEY", "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"), "hex HMAC key notifications are signed with (env ADYEN_SIM_HMAC_KEY)")
	common := gatewaySimFlags(fs)
	return func(logger *slog.Logger) (http.Handler, func(), error) {
		cfg, faults, err := common()
		if err != nil {
			return nil, nil, err
		}
		key, err := hex.DecodeString(*hmacKey)
		if err != nil {
			return nil, nil, errors.New("--hmac-key must be hex")
		}
		cfg.Logger = logger
		sim := adyensim.New(adyensim.Config{APIKey: *apiKey, MerchantAccount: *merchant, WebhookURL: *webhookURL, HMACKey: key, Sim: cfg})
		sim.SetFaults(faults)
		return sim, sim.Close, nil
	}
}
