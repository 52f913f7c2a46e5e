// Package ids issues identifiers: ULIDs, sortable by creation time, with 80
// random bits from crypto/rand so they are not guessable.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"sync"
	"time"

	"github.com/clientele/clientele/shared/clock"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Generator issues IDs.
type Generator struct {
	clock clock.Clock
	mu    sync.Mutex
	rand  io.Reader
	last  [16]byte // the previous id, for monotonic ids within a millisecond
	used  bool
}

// New returns a generator reading time from c and randomness from r
// (crypto/rand.Reader when nil).
func New(c clock.Clock, r io.Reader) *Generator {
	if r == nil {
		r = rand.Reader
	}
	return &Generator{clock: c, rand: r}
}

// New returns a new ULID. Within one millisecond ids increase (the random
// part of the previous id plus one), so ids from one generator sort in the
// order they were issued, as history entries must.
func (g *Generator) New() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(g.clock.Now().UnixMilli())<<16)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.used && [6]byte(b[:6]) == [6]byte(g.last[:6]) {
		b = g.last
		for i := 15; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
		g.last = b
		return encode(b)
	}
	_, err := io.ReadFull(g.rand, b[6:])
	g.last, g.used = b, true
	if err != nil {
		// crypto/rand does not fail on supported platforms; a broken
		// source must not silently produce predictable ids.
		panic("ids: reading randomness: " + err.Error())
	}
	return encode(b)
}

// Time returns the creation time encoded in a ULID.
func Time(id string) time.Time {
	var ms uint64
	for i := 0; i < 10 && i < len(id); i++ {
		ms = ms<<5 | uint64(indexOf(id[i]))
	}
	return time.UnixMilli(int64(ms)).UTC()
}

func indexOf(c byte) int {
	for i := 0; i < len(crockford); i++ {
		if crockford[i] == c {
			return i
		}
	}
	return 0
}

// encode writes 128 bits as 26 Crockford base32 characters (the first one
// carries only 3 bits).
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 26)
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}
