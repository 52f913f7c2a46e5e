package coldstart

import (
	"slices"
	"time"
)

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of ds.
func Percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	return s[max(rank, 1)-1]
}

// Median is the middle of ds (the mean of the two middle values for an even count).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Summary is what the warm latency run reports of a sample.
type Summary struct {
	N      int
	Median time.Duration
	P99    time.Duration // nearest rank: the 990th of 1,000, the largest of fewer than 100
	Max    time.Duration
}

// Summarize returns the summary of ds; all zero for none.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	return Summary{N: len(ds), Median: Median(ds), P99: Percentile(ds, 99), Max: slices.Max(ds)}
}

// Less is s's median over base's: the median latency of an endpoint less
// the hello-world's, which is the function's own cost (negative when the
// two differ by less than the noise).
func (s Summary) Less(base Summary) time.Duration { return s.Median - base.Median }
