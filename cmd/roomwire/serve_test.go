package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roomwire/roomwire/reservations/pgtest"
	"github.com/roomwire/roomwire/router/kafkatest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const testAdminKey = "serve-test-admin-key-0123"

// buildBinary builds roomwire once per test binary.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "roomwire-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "roomwire")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a running roomwire serve.
type process struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	logs bytes.Buffer
	done chan error
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// startServe runs roomwire serve on a fresh database and waits until it is ready.
func startServe(t *testing.T, dbURL string, extraEnv ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{addr: freeAddr(t), done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve")
	// Not a cluster the developer's shell points at: the embedded broker,
	// unless the test asks for the test cluster (testKafkaEnv).
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROOMWIRE_KAFKA_BROKERS=") {
			env = append(env, kv)
		}
	}
	p.cmd.Env = append(env, "DATABASE_URL="+dbURL, "ROOMWIRE_HTTP_ADDR="+p.addr,
		"ROOMWIRE_ADMIN_KEY="+testAdminKey, "ROOMWIRE_STATE_DIR="+t.TempDir(), "ROOMWIRE_KAFKA_EMBEDDED_ADDR=127.0.0.1:0")
	p.cmd.Env = append(p.cmd.Env, extraEnv...)
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("serve log:\n%s", p.log())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("serve exited early: %v\n%s", err, p.log())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("serve not ready within 30s\n%s", p.log())
	return nil
}

// testKafkaEnv points serve at the cluster of ROOMWIRE_TEST_KAFKA_BROKERS,
// cleared of earlier tests' topics, when that is set; else it is empty and
// serve runs its embedded broker.
func testKafkaEnv(t *testing.T) []string {
	t.Helper()
	brokers := kafkatest.Brokers()
	if brokers == nil {
		return nil
	}
	return []string{"ROOMWIRE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "ROOMWIRE_CONSUMER_GROUP_PREFIX=" + kafkatest.Fresh(t, brokers)}
}

func (p *process) request(t *testing.T, method, path string, body io.Reader) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.addr+path, body)
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestServeFinishesInFlightRequestsOnSIGTERM(t *testing.T) {
	p := startServe(t, pgtest.URL(t))
	resp := p.request(t, "PUT", "/v1/properties/LIS", strings.NewReader(`{"name": "Lisbon", "timezone": "Europe/Lisbon", "currency": "EUR",
		"room_types": [{"code": "DBL", "name": "Double", "units": 2}], "rate_plans": [{"code": "FLEX", "room_type": "DBL", "name": "Flexible"}]}`))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put property: %d", resp.StatusCode)
	}

	// The operator's gauges are there from the start, and behind the admin key.
	metrics := p.request(t, "GET", "/metrics", nil)
	text, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	for _, name := range []string{"roomwire_consumer_lag_messages 0", "roomwire_dead_letters_waiting 0", "roomwire_circuit_breakers_open 0", "roomwire_outbox_backlog"} {
		if !strings.Contains(string(text), name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if resp, err := http.Get("http://" + p.addr + "/metrics"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without a key: %v %v", resp.StatusCode, err)
	}

	// A request whose body is still arriving when SIGTERM comes.
	body := `{"updates": [{"room_type": "DBL", "from": "2027-04-01", "to": "2027-04-30", "units": 5}]}`
	pr, pw := io.Pipe()
	got := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("PUT", "http://"+p.addr+"/v1/properties/LIS/inventory", pr)
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		req.ContentLength = int64(len(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- resp
	}()
	pw.Write([]byte(body[:20]))
	// Signal only once the server is serving this request: two in flight,
	// it and the scrape that counts it.
	eventually(t, "the request is in flight", func() bool {
		m := p.request(t, "GET", "/metrics", nil)
		defer m.Body.Close()
		text, _ := io.ReadAll(m.Body)
		return strings.Contains(string(text), "\nroomwire_http_requests_in_flight 2\n")
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.log(), "shutting down") {
		if time.Now().After(deadline) {
			t.Fatal("no shutdown logged")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pw.Write([]byte(body[20:]))
	pw.Close()
	resp = <-got
	if resp == nil {
		t.Fatal("in-flight request failed")
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("in-flight request answered %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("serve exited with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("serve did not exit after SIGTERM")
	}
}

func TestServeRefusesToStartWithoutAdminKey(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "ROOMWIRE_ADMIN_KEY=", "DATABASE_URL="+pgtest.URL(t))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ROOMWIRE_ADMIN_KEY") {
		t.Fatalf("serve without admin key: %v\n%s", err, out)
	}
}

func TestCommandLineHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "serve") {
		t.Fatalf("--help: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"nonsense"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "nonsense"`) {
		t.Fatalf("unknown command: %d %q", code, errOut.String())
	}
	if code := run([]string{"serve", "--bogus"}, &out, &errOut); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
}
