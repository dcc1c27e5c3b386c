package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

// requireTool returns the path of a program the test needs. Locally a
// missing one skips the test; in CI (CI=true) it fails it, so that a
// machine without the program cannot pass for green.
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; .ci/run installs it (apt-get install -y %s)", name, debianPackage)
	}
	t.Skipf("%s is not installed (apt-get install -y %s); skipping", name, debianPackage)
	return ""
}

// /metrics, read with the metrics key, passes promtool's lint, and the
// alerting rules in deploy/ are valid.
func TestMetricsAndAlertRulesPassPromtool(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	const metricsKey = "serve-test-metrics-key-0123"
	p := startServe(t, pgtest.URL(t), "ROOMWIRE_METRICS_KEY="+metricsKey)
	// A request of each kind so that the request metrics have series.
	resp := p.request(t, "GET", "/v1/reservations/RWNOSUCH1", nil)
	resp.Body.Close()

	req, _ := http.NewRequest("GET", "http://"+p.addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics with the metrics key: %d %s", resp.StatusCode, text)
	}
	for _, want := range []string{"roomwire_http_requests_total{", "roomwire_consumer_lag_messages 0", "roomwire_dead_letters_waiting 0"} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if strings.Contains(string(text), "roomwire_consumer_lag_total") {
		t.Error("/metrics still has roomwire_consumer_lag_total, a gauge named like a counter")
	}
	req, _ = http.NewRequest("GET", "http://"+p.addr+"/v1/reservations", nil)
	req.Header.Set("Authorization", "Bearer "+metricsKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("the metrics key reading reservations: %v %v", resp.StatusCode, err)
	}

	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(text)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "check", "rules", "../../deploy/prometheus/alerts.yml").CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
