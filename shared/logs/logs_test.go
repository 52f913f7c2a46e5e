package logs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/logs"
)

var strs = []string{"", "request", "GET /v1/companies/{companyId}", `q"b\s`, "<a>&", "\t\n\r\b\f\x00\x1f\x7f", "é日🙂", "\u2028\u2029", "\xff\xfe", "\xed\xa0\x80"}

func randomAttr(rnd *rand.Rand) slog.Attr {
	key := strs[rnd.IntN(len(strs))]
	switch rnd.IntN(9) {
	case 0:
		return slog.String(key, strs[rnd.IntN(len(strs))]+strs[rnd.IntN(len(strs))])
	case 1:
		return slog.Int64(key, rnd.Int64()-math.MaxInt64/2)
	case 2:
		return slog.Uint64(key, rnd.Uint64())
	case 3:
		fs := []float64{0, 0.123, 1e21, 1e-7, math.Float64frombits(rnd.Uint64()), math.NaN(), math.Inf(1)}
		return slog.Float64(key, fs[rnd.IntN(len(fs))])
	case 4:
		return slog.Bool(key, rnd.IntN(2) == 0)
	case 5:
		return slog.Duration(key, time.Duration(rnd.Int64()))
	case 6:
		return slog.Time(key, time.Unix(rnd.Int64N(1<<36)-1<<35, rnd.Int64N(1e9)).In(time.FixedZone("", 3600*(rnd.IntN(24)-12))))
	case 7:
		return slog.Any(key, errors.New(strs[rnd.IntN(len(strs))]))
	default:
		return slog.Group(key, slog.Int("n", 1), slog.String("s", "<x>"))
	}
}

// TestSameLinesAsSlog: every record, on the fast path or not, is written
// as slog.JSONHandler writes it.
func TestSameLinesAsSlog(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	levels := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2}
	for i := range 20000 {
		var got, want bytes.Buffer
		ours, theirs := logs.New(&got, slog.LevelDebug), slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug})
		tm := time.Now()
		if i%7 == 0 {
			tm = time.Time{}
		} else if i%3 == 0 {
			tm = time.Unix(rnd.Int64N(1<<36), rnd.Int64N(1e9))
		}
		rec := slog.NewRecord(tm, levels[rnd.IntN(len(levels))], strs[rnd.IntN(len(strs))], 0)
		for range rnd.IntN(9) {
			rec.AddAttrs(randomAttr(rnd))
		}
		if err := ours.Handle(context.Background(), rec.Clone()); err != nil {
			t.Fatal(err)
		}
		if err := theirs.Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("line\n got %s\nwant %s", got.String(), want.String())
		}
	}
}

func TestLevelsAndWith(t *testing.T) {
	var got, want bytes.Buffer
	l := slog.New(logs.New(&got, slog.LevelWarn))
	l.Info("dropped")
	l.Warn("kept", "n", 1)
	l.With("a", "b").WithGroup("g").Error("grouped", "x", 2)
	s := slog.New(slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s.Info("dropped")
	s.Warn("kept", "n", 1)
	s.With("a", "b").WithGroup("g").Error("grouped", "x", 2)
	strip := func(b []byte) string { // times differ by the call
		var out []byte
		for _, line := range bytes.Split(b, []byte("\n")) {
			if i := bytes.Index(line, []byte(`"level"`)); i > 0 {
				out = append(append(out, line[i:]...), '\n')
			}
		}
		return string(out)
	}
	if strip(got.Bytes()) != strip(want.Bytes()) || bytes.Count(got.Bytes(), []byte("\n")) != 2 {
		t.Fatalf("got\n%s\nwant\n%s", got.String(), want.String())
	}
}

func BenchmarkRequestLine(b *testing.B) {
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("request_id", "a1b2c3"), slog.String("route", "GET /v1/companies/{companyId}"), slog.Int("status", 200),
		slog.Float64("latency_ms", 1.234), slog.Int64("ddb_requests", 1), slog.String("portal", "demo"))
	for name, h := range map[string]slog.Handler{"logs": logs.New(discard{}, slog.LevelInfo), "slog": slog.NewJSONHandler(discard{}, nil)} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Handle(context.Background(), rec)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestConcurrentLines: lines from both paths, written at once from many
// goroutines to a writer that is not safe for concurrent use, come out
// whole (run with -race).
func TestConcurrentLines(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(logs.New(&buf, slog.LevelInfo))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				if j%2 == 0 {
					l.Info("fast", "i", i, "j", j)
				} else {
					l.Info("slow", "err", errors.New("x"), slog.Group("g", "j", j))
				}
			}
		})
	}
	wg.Wait()
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 16*50 {
		t.Fatalf("%d lines, want %d", len(lines), 16*50)
	}
	for _, line := range lines {
		if !json.Valid(line) {
			t.Fatalf("broken line %q", line)
		}
	}
}
