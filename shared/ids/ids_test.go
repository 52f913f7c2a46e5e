package ids

import (
	"bytes"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
)

func TestULID(t *testing.T) {
	start := time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC)
	c := clock.NewManual(start)
	g := New(c, nil)
	a := g.New()
	c.Advance(time.Millisecond)
	b := g.New()
	tests := []struct {
		name string
		got  bool
	}{
		{"valid shape", clientele.ValidID(a) && clientele.ValidID(b)},
		{"sortable by time", a < b},
		{"time round-trips", Time(a).Equal(start)},
		{"distinct", a != New(clock.NewManual(start), nil).New()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.got {
				t.Fatalf("failed for %s, %s", a, b)
			}
		})
	}
}

func TestULIDRandomBits(t *testing.T) {
	g := New(clock.NewManual(time.UnixMilli(0)), bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)))
	if got, want := g.New(), "0000000000ZZZZZZZZZZZZZZZZ"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestULIDMonotonicWithinMillisecond(t *testing.T) {
	g := New(clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), nil)
	prev := g.New()
	for range 1000 {
		next := g.New()
		if next <= prev {
			t.Fatalf("%s after %s", next, prev)
		}
		prev = next
	}
}
