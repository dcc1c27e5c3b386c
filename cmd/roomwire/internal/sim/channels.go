package sim

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/roomwire/roomwire/connectors/bookingcom/bookingcomsim"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/expedia/expediasim"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	flag "github.com/spf13/pflag"
)

func init() {
	registerSimulator("ota", simulator{summary: "an OpenTravel channel: pushes OTA_HotelResNotifRQ, receives ARI at /ari", flags: otaSimFlags})
	registerSimulator("bookingcom", simulator{summary: "Booking.com's reservation feeds and ARI endpoints", flags: bookingcomSimFlags})
	registerSimulator("expedia", simulator{summary: "Expedia QuickConnect: booking retrieval and confirmation, AR updates", flags: expediaSimFlags})
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
