package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestLoadSmall runs a small load: every answer is a deliberate one (no
// 5xx, no transport error) and the table holds its invariants afterwards.
func TestLoadSmall(t *testing.T) {
	res, err := Run(context.Background(), Config{Requests: 400, Concurrency: 8, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.ServerErrors(); n > 0 {
		t.Fatalf("%d 5xx answers: %v", n, res.ByStatus)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("inconsistent after load: %v", res.Problems)
	}
	if res.ByStatus[200] == 0 || res.ByStatus[201] == 0 || len(res.ByOp) < 10 {
		t.Fatalf("the mix did not run: %v %v", res.ByStatus, res.ByOp)
	}
	var out bytes.Buffer
	res.Print(&out)
	if !strings.Contains(out.String(), "p99") || !strings.Contains(out.String(), "consistency check: passed") {
		t.Fatalf("report %q", out.String())
	}
}
