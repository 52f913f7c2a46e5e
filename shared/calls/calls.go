// Package calls counts the DynamoDB requests one API request makes, for the
// request log and for the tests that hold each endpoint to its budget.
package calls

import (
	"context"
	"sync/atomic"
)

type key struct{}

// Track returns a context that counts the calls made with it.
func Track(ctx context.Context) context.Context {
	return context.WithValue(ctx, key{}, new(atomic.Int64))
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
