// Package calls counts the DynamoDB requests one API request makes and the
// time they take, for the request log and for the tests that hold each
// endpoint to its budget.
package calls

import (
	"context"
	"sync/atomic"
	"time"
)

type key struct{}

// Counter is a context that counts the calls made with it and the time
// they took, for embedding in a value that lives as long as the request (so
// that counting costs no allocation of its own). Set Context before use.
type Counter struct {
	context.Context
	n  atomic.Int64
	ns atomic.Int64 // time in the calls
}

// Value answers the counter's key and delegates the rest.
func (c *Counter) Value(k any) any {
	if k == (key{}) {
		return c
	}
	return c.Context.Value(k)
}

// Add counts one call; a no-op on an untracked context.
func Add(ctx context.Context) {
	if c, ok := ctx.Value(key{}).(*Counter); ok {
		c.n.Add(1)
	}
}

// Spend adds d to the time spent in calls; a no-op on an untracked context.
func Spend(ctx context.Context, d time.Duration) {
	if c, ok := ctx.Value(key{}).(*Counter); ok {
		c.ns.Add(int64(d))
	}
}

// Count returns the calls counted so far.
func Count(ctx context.Context) int64 {
	if c, ok := ctx.Value(key{}).(*Counter); ok {
		return c.n.Load()
	}
	return 0
}

// Spent returns the time the calls counted so far took.
func Spent(ctx context.Context) time.Duration {
	if c, ok := ctx.Value(key{}).(*Counter); ok {
		return time.Duration(c.ns.Load())
	}
	return 0
}
