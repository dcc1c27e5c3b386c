package bookingapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the API's RED metrics, per route (the mux pattern that
// served the request, e.g. "GET /v1/reservations/{id}", so that ids do not
// make a series each):
//
//	roomwire_http_requests_total{route,method,code}       requests answered
//	roomwire_http_request_duration_seconds{route,method}  time to answer
//	roomwire_http_requests_in_flight                      requests being served
//
// Errors are the requests whose code is 4xx or 5xx.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomwire_http_requests_total",
			Help: "HTTP requests answered, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roomwire_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomwire_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// start counts a request in flight and returns the function that records it
// once answered. A nil *httpMetrics records nothing.
func (m *httpMetrics) start(method, pattern string) func(status int) {
	if m == nil {
		return func(int) {}
	}
	began := time.Now()
	m.inFlight.Inc()
	route := pattern
	if route == "" {
		route = "unmatched" // one series for every unknown path
	}
	method = knownMethod(method)
	return func(status int) {
		m.inFlight.Dec()
		m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(began).Seconds())
	}
}

// knownMethod bounds the method label: a client can send any token as a method.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
