package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// stopWithGoRun returns a context that ends when `go run`, if that is what
// started this process, goes away. `go run` passes no signal on: it ignores
// SIGINT (the terminal sends it to the whole process group anyway) and dies
// of SIGTERM, which would leave this process running, holding its port and
// database. Any other parent is left alone: a process started with nohup must
// outlive its shell.
func stopWithGoRun(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	parent := os.Getppid()
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(parent), "exe"))
	if err != nil || filepath.Base(exe) != "go" {
		return ctx, cancel
	}
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != parent {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}
