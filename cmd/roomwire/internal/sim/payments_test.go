package sim

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestSimPaymentGatewaysServeUntilStopped(t *testing.T) {
	for _, name := range []string{"stripe", "adyen"} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- runSim(ctx, []string{name, "--addr", addr, "--error-rate", "0.1", "--decline-tokens", "tok_bad"})
			}()
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := http.Get("http://" + addr + "/_sim/stats")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != 200 {
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
	if err := runSim(context.Background(), []string{"stripe", "--error-rate", "2"}); err == nil {
		t.Error("an error rate of 2 was accepted")
	}
}
