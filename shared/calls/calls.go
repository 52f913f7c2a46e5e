// Package calls counts the DynamoDB requests one API request makes, for the
// request log and for the tests that hold each endpoint to its budget.
package calls

import (
	"context"
	"sync/atomic"
)

type key struct{}

// Counter is a context that counts the calls made with it, for embedding
// in a value that lives as long as the request (so that counting costs no
// allocation of its own). Set Context before use.
type Counter struct {
	context.Context
	n atomic.Int64
}

// Value answers the counter's key and delegates the rest.
func (c *Counter) Value(k any) any {
	if k == (key{}) {
		return &c.n
	}
	return c.Context.Value(k)
}

// Add counts one call; a no-op on an untracked context.
func Add(ctx context.Context) {
	if n, ok := ctx.Value(key{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

// Count returns the calls counted so far.
func Count(ctx context.Context) int64 {
	if n, ok := ctx.Value(key{}).(*atomic.Int64); ok {
		return n.Load()
	}
	return 0
}
