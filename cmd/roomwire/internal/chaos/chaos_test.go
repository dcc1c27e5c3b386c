package chaos

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

// A short chaos run: every fault kind at least once over 300 operations, and
// not one invariant broken. It runs the built binary, because chaos starts
// serve from its own executable.
func TestChaosShortRunKeepsEveryInvariant(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve, a broker and simulators")
	}
	bin := filepath.Join(t.TempDir(), "roomwire")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/roomwire/roomwire/cmd/roomwire").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "chaos", "--ops", "300", "--seed", "7", "--workers", "8", "--duration-limit", "3m", "--json")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+pgtest.ServerURL())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var rep struct {
		Operations     int            `json:"operations"`
		FaultsInjected map[string]int `json:"faults_injected"`
		Violations     []string       `json:"violations"`
		Invariants     []struct {
			Name    string `json:"name"`
			OK      bool   `json:"ok"`
			Checked int    `json:"checked"`
		} `json:"invariants"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("chaos: %v; no JSON report: %v\n%s\n%s", runErr, err, stdout.String(), stderr.String())
	}
	if len(rep.Violations) > 0 || runErr != nil {
		t.Fatalf("chaos: %v; violations:\n  %s\nprogress:\n%s", runErr, strings.Join(rep.Violations, "\n  "), stderr.String())
	}
	if rep.Operations != 300 {
		t.Errorf("operations = %d, want 300", rep.Operations)
	}
	for _, kind := range chaosFaultKinds {
		if rep.FaultsInjected[kind] < 1 {
			t.Errorf("fault %s was not injected: %v", kind, rep.FaultsInjected)
		}
	}
	if len(rep.Invariants) != len(chaosInvariantOrder) {
		t.Fatalf("%d invariants reported, want %d", len(rep.Invariants), len(chaosInvariantOrder))
	}
	for _, in := range rep.Invariants {
		if !in.OK || in.Checked == 0 {
			t.Errorf("invariant %q: ok %v, %d checked", in.Name, in.OK, in.Checked)
		}
	}
}

func TestChaosFlags(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"--ops", "5"}, false},
		{[]string{"--workers", "0"}, false},
		{[]string{"--duration-limit", "1s"}, false},
		{[]string{"--ops", "300", "--seed", "3", "--json"}, true},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		o, err := parseChaosFlags(tt.args, &stderr)
		if (err == nil) != tt.ok {
			t.Errorf("%v: err %v, want ok %v (%s)", tt.args, err, tt.ok, stderr.String())
		}
		if err == nil && o.seed == 0 {
			t.Errorf("%v: seed 0 was not replaced by a drawn one", tt.args)
		}
	}
}

// The schedule has every kind once per thousand operations, at least once,
// and the same seed gives the same schedule.
func TestChaosFaultSchedule(t *testing.T) {
	for _, tt := range []struct{ ops, rounds int }{{300, 1}, {3000, 3}} {
		c := &chaosRun{o: chaosOptions{ops: tt.ops, seed: 42}}
		s := c.faultSchedule()
		if len(s) != tt.rounds*len(chaosFaultKinds) {
			t.Fatalf("%d ops: %d faults, want %d", tt.ops, len(s), tt.rounds*len(chaosFaultKinds))
		}
		count := map[string]int{}
		for _, k := range s {
			count[k]++
		}
		for _, k := range chaosFaultKinds {
			if count[k] != tt.rounds {
				t.Errorf("%d ops: %s %d times, want %d", tt.ops, k, count[k], tt.rounds)
			}
		}
		if again := c.faultSchedule(); strings.Join(again, ",") != strings.Join(s, ",") {
			t.Errorf("%d ops: the same seed gave another schedule", tt.ops)
		}
		last := -1
		for k := range s {
			at := c.threshold(k, len(s))
			if at <= last || at >= tt.ops {
				t.Fatalf("%d ops: fault %d at operation %d after %d", tt.ops, k, at, last)
			}
			last = at
		}
	}
}

// A partner fault is held for failed notifications only when it fails them:
// while one is held, the load waits at the next fault's operation, so holding
// duplicate_webhooks, which fails none, stopped the load for the whole 15 s.
func TestChaosHoldsOnlyPartnerFaultsThatFailNotifications(t *testing.T) {
	c := &chaosRun{stateDir: t.TempDir()}
	if err := c.startNotify(); err != nil {
		t.Fatal(err)
	}
	defer c.stopNotify()
	for _, kind := range []string{faultPartner5xx, faultPartner429, faultPartnerHang, faultDuplicates} {
		c.notifyFault(kind)
		before := c.notifyFailures()
		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(c.notify.hookURL, "application/json", strings.NewReader(`{"id":"evt","type":"reservation.created"}`))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}()
		}
		wg.Wait()
		failed := c.notifyFailures() > before
		if held := failsNotifications(kind); held != failed {
			t.Errorf("%s: held for failed notifications %v, but 30 webhooks failed: %v", kind, held, failed)
		}
	}
	c.notifyFault("")
}
