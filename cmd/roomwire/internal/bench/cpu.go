package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
)

// cpuSample is the CPU time used so far by this process (the hub, the
// broker, the simulators and the load generator) and, when the PostgreSQL
// server runs on this machine, by each of the server's processes.
type cpuSample struct {
	process  time.Duration
	postgres map[int32]time.Duration // by pid; nil when the server's processes cannot be read
}

// clockTicks is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on every
// Linux Roomwire runs on).
const clockTicks = 100

// sampleCPU reads the CPU time used so far. The server's processes are
// those pg_stat_activity lists (backends and background workers); they are
// read from /proc, so only a server on this machine is measured.
func sampleCPU(ctx context.Context, q rowQuerier) cpuSample {
	var s cpuSample
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.process = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var pids []int32
	var own int32
	if err := q.QueryRow(ctx, `SELECT array_agg(pid), pg_backend_pid() FROM pg_stat_activity`).Scan(&pids, &own); err != nil {
		return s
	}
	// Our own backend must be a postgres process here: otherwise the
	// server runs elsewhere and these pids are not its processes.
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", own)); err != nil || string(bytes.TrimSpace(comm)) != "postgres" {
		return s
	}
	s.postgres = map[int32]time.Duration{}
	for _, pid := range pids {
		if t, ok := procCPU(pid); ok {
			s.postgres[pid] = t
		}
	}
	return s
}

// procCPU reads the CPU time a process has used. /proc/<pid>/schedstat
// gives it in nanoseconds; /proc/<pid>/stat, the fallback where the kernel
// keeps no scheduler statistics, only in clock ticks of 10 ms, too coarse
// for a backend that ran a few short transactions.
func procCPU(pid int32) (time.Duration, bool) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid)); err == nil {
		if f := bytes.Fields(b); len(f) > 0 {
			if ns, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
				return time.Duration(ns), true
			}
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis (state is the first of them).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, true
}

// cpuUsed is the CPU time used between two samples: this process's, and the
// server's when both samples read it (its processes that ended in between
// are left out, so it is a lower bound).
type cpuUsed struct {
	process  time.Duration
	postgres *time.Duration
}

func (end cpuSample) since(start cpuSample) cpuUsed {
	u := cpuUsed{process: end.process - start.process}
	if start.postgres != nil && end.postgres != nil {
		var pg time.Duration
		for pid, t := range end.postgres {
			pg += t - start.postgres[pid] // a process started in between counts whole
		}
		u.postgres = &pg
	}
	return u
}

// msPer is CPU milliseconds per unit of work (n of them); nil when unknown.
func msPer(d *time.Duration, n int64) *float64 {
	if d == nil || n <= 0 {
		return nil
	}
	return ptr(float64(*d) / float64(time.Millisecond) / float64(n))
}

func roundMS(ms *float64) *float64 {
	if ms == nil {
		return nil
	}
	return ptr(rig.Round(*ms, 3))
}
