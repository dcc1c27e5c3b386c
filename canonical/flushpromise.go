package canonical

import (
	"context"
	"sync/atomic"
)

// flushPromise is carried by the context of work that will be acknowledged
// only after a durable commit to PostgreSQL: one that waits for the flush
// of the write-ahead log.
type flushPromise struct{ relied atomic.Bool }

type flushPromiseKey struct{}

// WithFlushPromise returns ctx carrying a promise that, before the work
// done under it is acknowledged (a Kafka offset moves past its message), a
// durable commit follows on the same PostgreSQL server. PostgreSQL writes
// its log in order, so that later flush makes durable whatever committed
// before it: a write under the promise may commit asynchronously, and a
// crash that loses it loses the acknowledgement too, so the work is done
// again. The router's consumers give each delivery one.
func WithFlushPromise(ctx context.Context) context.Context {
	return context.WithValue(ctx, flushPromiseKey{}, &flushPromise{})
}

// RelyOnFlushPromise reports whether ctx carries a flush promise, and
// records that a write relies on it: the promiser must then keep it.
func RelyOnFlushPromise(ctx context.Context) bool {
	p, ok := ctx.Value(flushPromiseKey{}).(*flushPromise)
	if ok {
		p.relied.Store(true)
	}
	return ok
}

// FlushPromiseRelied reports whether a write relied on the flush promise
// ctx carries.
func FlushPromiseRelied(ctx context.Context) bool {
	p, ok := ctx.Value(flushPromiseKey{}).(*flushPromise)
	return ok && p.relied.Load()
}
