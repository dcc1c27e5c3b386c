package gatewaysim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// Send posts a webhook body with header to the webhook URL in the
// background, 1 + DuplicateWebhooks times, each retried a few times while
// the receiver does not answer 2xx (as gateways retry). WaitWebhooks waits
// for every delivery in flight.
func (c *Core) Send(body []byte, header http.Header) {
	c.mu.Lock()
	url, copies := c.webhookURL, 1+c.faults.DuplicateWebhooks
	c.mu.Unlock()
	if url == "" {
		return
	}
	for i := 0; i < copies; i++ {
		c.webhooks.Add(1)
		go func() {
			defer c.webhooks.Done()
			c.deliver(url, body, header)
		}()
	}
}

func (c *Core) deliver(url string, body []byte, header http.Header) {
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := c.client.Do(req)
		if err != nil {
			c.logger.Warn("webhook delivery failed", "error", err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return
		}
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			c.logger.Warn("webhook refused by the receiver", "status", resp.StatusCode)
			return
		}
	}
}

// WaitWebhooks waits until every webhook sent so far was delivered or given up.
func (c *Core) WaitWebhooks() { c.webhooks.Wait() }

// Control returns the simulator's control endpoints, to mount beside the
// API: PUT /_sim/faults (a Faults document), GET /_sim/faults, GET
// /_sim/stats and POST /_sim/expire, which expires due holds and calls
// onExpired with them (the gateway's webhooks, if it sends any).
func (c *Core) Control(onExpired func([]Hold)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		c.SetFaults(f)
		writeJSON(w, f)
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.Faults()) })
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.Stats()) })
	mux.HandleFunc("POST /_sim/expire", func(w http.ResponseWriter, r *http.Request) {
		expired := c.ExpireDue()
		if onExpired != nil && len(expired) > 0 {
			onExpired(expired)
		}
		writeJSON(w, map[string]int{"expired": len(expired)})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
