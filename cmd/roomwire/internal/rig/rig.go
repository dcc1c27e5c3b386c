// Package rig holds what roomwire's test rigs (demo, bench, chaos) share.
package rig

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"math"
	"sync"

	"github.com/roomwire/roomwire/canonical"
)

// RandomHex is n random bytes in hex: secrets for the simulated partners and
// names for a run's databases and groups.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Round rounds x to decimals places, for the figures of a report.
func Round(x float64, decimals int) float64 {
	f := math.Pow(10, float64(decimals))
	return math.Round(x*f) / f
}

// SyncWriter lets progress lines, first-error lines and the hub's log share
// one writer (stderr).
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter returns a SyncWriter writing to w.
func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

func (l *SyncWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Stay is one room stay as the booking API takes it, in the load the rigs
// send.
type Stay struct {
	RoomType  string         `json:"room_type"`
	RatePlan  string         `json:"rate_plan"`
	Arrival   canonical.Date `json:"arrival"`
	Departure canonical.Date `json:"departure"`
	Adults    int            `json:"adults"`
}
