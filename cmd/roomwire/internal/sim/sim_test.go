package sim

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// Each simulator serves its API, with fault switches, until its context ends.
func TestSimulatorsServeUntilStopped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"apaleo", []string{"--error-rate", "0.1"}},
		{"stripe", []string{"--error-rate", "0.1", "--decline-tokens", "tok_bad"}},
		{"adyen", []string{"--error-rate", "0.1", "--decline-tokens", "tok_bad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- runSim(ctx, append([]string{tc.name, "--addr", addr}, tc.flags...)) }()
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := http.Get("http://" + addr + "/_sim/stats")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("stats: %d", resp.StatusCode)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the simulator did not come up: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUnknownSimulatorIsRefused(t *testing.T) {
	if err := runSim(context.Background(), []string{"nosuch"}); err == nil {
		t.Error("an unknown simulator was accepted")
	}
}
