// Package sim is roomwire sim: each partner's simulator run alone, speaking
// the partner's wire format, with switches for faults.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
)

// simulator is one partner's simulator, run by `roomwire sim NAME`.
type simulator struct {
	summary string
	// flags declares the simulator's switches on fs and returns the handler
	// to build once they are parsed.
	flags func(fs *flag.FlagSet) func(logger *slog.Logger) (http.Handler, func(), error)
}

var simulators = map[string]simulator{}

// registerSimulator adds a partner simulator; partners add theirs in init.
func registerSimulator(name string, s simulator) {
	if _, dup := simulators[name]; dup {
		panic("roomwire: simulator registered twice: " + name)
	}
	simulators[name] = s
}

// Command is roomwire sim.
var Command = cli.Command{Name: "sim", Summary: "run a partner simulator (sim apaleo ...)", Run: runSim}

func init() {
	registerSimulator("apaleo", simulator{summary: "the Apaleo API with webhooks and fault switches", flags: apaleoSimFlags})
}

func simNames() []string {
	names := make([]string, 0, len(simulators))
	for n := range simulators {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func runSim(ctx context.Context, args []string) error {
	subs := make([]cli.Subcommand, 0, len(simulators))
	for _, n := range simNames() {
		name, s := n, simulators[n]
		subs = append(subs, cli.Subcommand{Name: name, Summary: s.summary, Run: func(ctx context.Context, args []string) error {
			return runSimulator(ctx, name, s, args)
		}})
	}
	return cli.RunSubcommand(ctx, "sim", "Runs a partner simulator alone, speaking the partner's real wire format, with\nswitches for faults. The demo and the tests run the same simulators.", subs, args)
}

func runSimulator(ctx context.Context, name string, s simulator, args []string) error {
	fs := cli.NewFlags("sim "+name, "[--addr HOST:PORT] [--flags]", "Runs the "+name+" simulator: "+s.summary+".")
	addr := fs.String("addr", "127.0.0.1:8091", "address to listen on")
	build := s.flags(fs)
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := cli.NoArgs(fs); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, closeFn, err := build(logger)
	if err != nil {
		return err
	}
	defer closeFn()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	logger.Info(name+" simulator listening", "url", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func apaleoSimFlags(fs *flag.FlagSet) func(*slog.Logger) (http.Handler, func(), error) {
	clientID := fs.String("client-id", "roomwire", "OAuth2 client id the identity endpoint accepts")
	clientSecret := fs.String("client-secret", os.Getenv("APALEO_SIM_CLIENT_SECRET"), "OAuth2 client secret it accepts (env APALEO_SIM_CLIENT_SECRET; default: a fixed demo secret)")
	webhookURL := fs.String("webhook-url", "", "where to send reservation webhooks, e.g. http://127.0.0.1:8080/v1/connectors/apaleo/webhooks")
	webhookUser := fs.String("webhook-user", "apaleo", "basic-auth user of webhooks")
	webhookPassword := fs.String("webhook-password", os.Getenv("APALEO_SIM_WEBHOOK_PASSWORD"), "basic-auth password of webhooks (env APALEO_SIM_WEBHOOK_PASSWORD)")
	errorRate := fs.Float64("error-rate", 0, "fraction of API calls answered 5xx (0 to 1)")
	rateLimit := fs.Float64("rate-limit-rate", 0, "fraction of API calls answered 429")
	retryAfter := fs.Int("retry-after", 1, "Retry-After seconds on 429")
	latency := fs.Duration("latency", 0, "added to every API call")
	timeoutRate := fs.Float64("timeout-rate", 0, "fraction of API calls that hang")
	hangFor := fs.Duration("hang-for", 30*time.Second, "how long a hanging call hangs")
	dups := fs.Int("duplicate-webhooks", 0, "extra deliveries of each webhook")
	reject := fs.String("reject-rate-plans", "", "comma-separated rate plan ids answered 422")
	return func(logger *slog.Logger) (http.Handler, func(), error) {
		for _, r := range []float64{*errorRate, *rateLimit, *timeoutRate} {
			if r < 0 || r > 1 {
				return nil, nil, errors.New("rates must be between 0 and 1")
			}
		}
		secret := *clientSecret
		if secret == "" {
			secret = "apaleo-sim-demo-secret"
		}
		sim := apaleosim.Demo(apaleosim.Config{ClientID: *clientID, ClientSecret: secret,
			WebhookURL: *webhookURL, WebhookUser: *webhookUser, WebhookPassword: *webhookPassword, Logger: logger})
		f := apaleosim.Faults{ErrorRate: *errorRate, RateLimitRate: *rateLimit, RetryAfter: *retryAfter, Latency: *latency,
			TimeoutRate: *timeoutRate, HangFor: *hangFor, DuplicateWebhooks: *dups}
		for _, p := range strings.Split(*reject, ",") {
			if p = strings.TrimSpace(p); p != "" {
				f.RejectRatePlans = append(f.RejectRatePlans, p)
			}
		}
		sim.SetFaults(f)
		return sim, sim.Close, nil
	}
}
