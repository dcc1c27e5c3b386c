package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"time"

	flag "github.com/spf13/pflag"

	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/arifanout"
	"github.com/roomwire/roomwire/connectors/bookingcom"
	"github.com/roomwire/roomwire/connectors/bookingcom/bookingcomsim"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/expedia"
	"github.com/roomwire/roomwire/connectors/expedia/expediasim"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	"github.com/roomwire/roomwire/reservations"
)

// The channel connectors (registered by importing their packages, which
// translate, connectors and serve need) and their simulators.
var _ = []string{ota.Name, bookingcom.Name, expedia.Name}

func init() {
	register(command{name: "ari", summary: "push availability and rates to channels (ari resync ...)", run: runARI})
	registerSimulator("ota", simulator{summary: "an OpenTravel channel: pushes OTA_HotelResNotifRQ, receives ARI at /ari", flags: otaSimFlags})
	registerSimulator("bookingcom", simulator{summary: "Booking.com's reservation feeds and ARI endpoints", flags: bookingcomSimFlags})
	registerSimulator("expedia", simulator{summary: "Expedia QuickConnect: booking retrieval and confirmation, AR updates", flags: expediaSimFlags})
}

const ariDescription = `
ARI is availability, rates and inventory: what each channel may sell, at what
price. The hub pushes every change to the channels by itself; these commands
are for repairs.`

func runARI(ctx context.Context, args []string) error {
	return runSubcommand(ctx, "ari", ariDescription, []subcommand{
		{name: "resync", summary: "push a property's full availability and rates to its channels", run: runResync},
	}, args)
}

func runResync(ctx context.Context, args []string) error {
	fs := newFlags("ari resync", "--property P [--channel C] --connector-config FILE [--from DATE] [--days N] [--config FILE]", `
Pushes a property's full availability (units sellable less units sold) and
rates, read from the reservation store, to every channel that takes ARI, or
to --channel alone, mapped to each channel's codes. Use it when a channel has
lost track, after adding a mapping, or when connecting a new channel.

--connector-config is a YAML file naming each channel connector and its
configuration (keys as 'roomwire connectors --fields' lists them):

  ota: {inbound_user: ..., inbound_password: ..., ari_url: https://...}
  expedia: {username: ..., password: ..., hotel_ids: ["4411903"]}

Secrets may come from the environment instead.`+configHelp)
	cfgPath := configFlag(fs)
	property := fs.String("property", "", "Roomwire property id (required)")
	channel := fs.String("channel", "", "only this channel connector")
	connCfg := fs.String("connector-config", "", "YAML `file` with the channel connectors' configuration (required)")
	mappingFile := fs.String("mappings", "", "a mapping `file` to store first")
	from := fs.String("from", "", "first night, YYYY-MM-DD (default today)")
	days := fs.Int("days", 365, "how many nights from --from")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *property == "":
		return badUsage(fs, "--property is required")
	case *connCfg == "":
		return badUsage(fs, "--connector-config is required")
	case *days < 1 || *days > 3*366:
		return badUsage(fs, "--days must be between 1 and %d, got %d", 3*366, *days)
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	first := canonical.DateOf(time.Now().UTC())
	if *from != "" {
		d, err := canonical.ParseDate(*from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		first = d
	}
	b, err := os.ReadFile(*connCfg)
	if err != nil {
		return err
	}
	var raw map[string]map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%s: %v", *connCfg, err)
	}
	if *channel != "" {
		if _, ok := raw[*channel]; !ok {
			return fmt.Errorf("%s does not configure channel %q", *connCfg, *channel)
		}
		raw = map[string]map[string]any{*channel: raw[*channel]}
	}
	cfg, pool, err := openConfiguredDatabase(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer pool.Close()
	logger := newLogger(cfg.Log)
	res := connectors.NewResources(pool, logger)
	if *mappingFile != "" {
		if err := res.Mappings.LoadFile(ctx, *mappingFile); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		spec, ok := connectors.Lookup(name)
		if !ok || !spec.Has(connectors.CapARIOutbound) {
			errs = append(errs, fmt.Errorf("%s: not a connector that takes ARI", name))
			continue
		}
		c, err := connectors.Build(name, raw[name], res)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, ok := c.(connectors.ARIPusher)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: cannot push ARI", name))
			continue
		}
		start := time.Now()
		rules, err := reservations.New(pool).ChannelRules(ctx, reservations.AllProperties, *property, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		u, err := arifanout.Resync(ctx, pool, res.Mappings, rules, p, *property, first, first.AddDays(*days-1))
		if cl, ok := c.(connectors.Closer); ok {
			cl.Close()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		fmt.Printf("%s: pushed %d availability, %d restriction and %d rate runs of %s (%s to %s) in %s\n", name, len(u.Availability), len(u.Restrictions), len(u.Rates),
			*property, first, first.AddDays(*days-1), time.Since(start).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

// faultFlags declares the switches every channel simulator has.
func faultFlags(fs *flag.FlagSet) func() channelsim.Faults {
	status := fs.Int("status", 0, "answer every API call with this HTTP status")
	errorRate := fs.Float64("error-rate", 0, "fraction of API calls answered 500 (0 to 1)")
	rateLimit := fs.Float64("rate-limit-rate", 0, "fraction of API calls answered 429")
	retryAfter := fs.Int("retry-after", 1, "Retry-After seconds of 429 and 503 answers")
	timeoutRate := fs.Float64("timeout-rate", 0, "fraction of API calls that hang")
	hangFor := fs.Duration("hang-for", 30*time.Second, "how long a hanging call hangs")
	latency := fs.Duration("latency", 0, "added to every API call")
	dups := fs.Int("duplicates", 0, "extra deliveries of each reservation")
	return func() channelsim.Faults {
		return channelsim.Faults{Status: *status, ErrorRate: *errorRate, RateLimitRate: *rateLimit, RetryAfter: *retryAfter,
			TimeoutRate: *timeoutRate, HangFor: *hangFor, Latency: *latency, Duplicates: *dups}
	}
}

func checkRates(f channelsim.Faults) error {
	for _, r := range []float64{f.ErrorRate, f.RateLimitRate, f.TimeoutRate} {
		if r < 0 || r > 1 {
			return errors.New("rates must be between 0 and 1")
		}
	}
	return nil
}

func otaSimFlags(fs *flag.FlagSet) func(*slog.Logger) (http.Handler, func(), error) {
	pushURL := fs.String("push-url", "", "Roomwire's receiver, e.g. http://127.0.0.1:8080/v1/connectors/ota/reservations (POST /_sim/push pushes a canonical reservation there)")
	auth := fs.String("auth", ota.AuthBasic, "how pushes authenticate: basic or pos")
	user := fs.String("user", "channel", "user (or RequestorID ID) of pushes")
	password := fs.String("password", os.Getenv("OTA_SIM_PASSWORD"), "password (or MessagePassword) of pushes (env OTA_SIM_PASSWORD)")
	faults := faultFlags(fs)
	return func(logger *slog.Logger) (http.Handler, func(), error) {
		f := faults()
		if err := checkRates(f); err != nil {
			return nil, nil, err
		}
		sim := otasim.New(otasim.Config{PushURL: *pushURL, Auth: *auth, User: *user, Password: *password, Logger: logger})
		sim.SetFaults(f)
		return sim, func() {}, nil
	}
}

func bookingcomSimFlags(fs *flag.FlagSet) func(*slog.Logger) (http.Handler, func(), error) {
	user := fs.String("username", "roomwire", "machine account user the API accepts")
	password := fs.String("password", os.Getenv("BOOKINGCOM_SIM_PASSWORD"), "its password (env BOOKINGCOM_SIM_PASSWORD; default: a fixed demo password)")
	faults := faultFlags(fs)
	return func(logger *slog.Logger) (http.Handler, func(), error) {
		f := faults()
		if err := checkRates(f); err != nil {
			return nil, nil, err
		}
		if *password == "" {
			*password = "bookingcom-sim-demo-password"
		}
		sim := bookingcomsim.New(bookingcomsim.Config{Username: *user, Password: *password, Logger: logger})
		sim.SetFaults(f)
		return sim, func() {}, nil
	}
}

func expediaSimFlags(fs *flag.FlagSet) func(*slog.Logger) (http.Handler, func(), error) {
	user := fs.String("username", "roomwire", "QuickConnect user the API accepts")
	password := fs.String("password", os.Getenv("EXPEDIA_SIM_PASSWORD"), "its password (env EXPEDIA_SIM_PASSWORD; default: a fixed demo password)")
	maxUpdates := fs.Int("max-updates", 100, "most AvailRateUpdate elements in one message")
	faults := faultFlags(fs)
	return func(logger *slog.Logger) (http.Handler, func(), error) {
		f := faults()
		if err := checkRates(f); err != nil {
			return nil, nil, err
		}
		if *password == "" {
			*password = "expedia-sim-demo-password"
		}
		sim := expediasim.New(expediasim.Config{Username: *user, Password: *password, MaxUpdates: *maxUpdates, Logger: logger})
		sim.SetFaults(f)
		return sim, func() {}, nil
	}
}
