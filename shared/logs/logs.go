// Package logs is the log handler of every function: the JSON lines
// slog.JSONHandler writes, byte for byte (a test holds it to that), for a
// fraction of its cost on the records every request writes: flat records
// of strings, numbers, booleans, durations and times. Anything else (groups,
// arbitrary values, loggers made With attributes) is handed to a
// slog.JSONHandler on the same writer.
package logs

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"

	"github.com/clientele/clientele/shared/jsonx"
)

// Handler writes JSON lines.
type Handler struct {
	w     io.Writer
	mu    sync.Mutex
	level slog.Leveler
	std   slog.Handler // the same lines, for records off the fast path
}

// Logger is the JSON logger of every function, on stdout, at level (info
// when it does not parse).
func Logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(New(os.Stdout, l))
}

// New returns a handler writing lines at level and above to w.
func New(w io.Writer, level slog.Leveler) *Handler {
	h := &Handler{w: w, level: level}
	// slog's handler writes under the same lock, so that lines from both
	// paths never interleave on a writer that is not safe for concurrent use.
	h.std = slog.NewJSONHandler(lockedWriter{h}, &slog.HandlerOptions{Level: level})
	return h
}

type lockedWriter struct{ h *Handler }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.h.mu.Lock()
	defer l.h.mu.Unlock()
	return l.h.w.Write(p)
}

// Enabled reports whether lines of level are written.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// WithAttrs returns slog's handler with attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.std.WithAttrs(attrs) }

// WithGroup returns slog's handler with a group.
func (h *Handler) WithGroup(name string) slog.Handler { return h.std.WithGroup(name) }

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Handle writes r as one line.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	b, ok := appendRecord((*bp)[:0], r)
	*bp = b
	if !ok {
		return h.std.Handle(ctx, r)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(b)
	return err
}

// appendRecord appends r's line, or reports false when it needs slog.
func appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b = append(b, '{')
	if !r.Time.IsZero() {
		t := r.Time.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":`...)
		b = jsonx.AppendTime(b, t)
		b = append(b, ',')
	}
	b = append(b, `"level":`...)
	b = jsonx.AppendLogString(b, r.Level.String())
	b = append(b, `,"msg":`...)
	b = jsonx.AppendLogString(b, r.Message)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	return append(b, '}', '\n'), ok
}

func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	v := a.Value
	switch v.Kind() {
	case slog.KindAny, slog.KindGroup, slog.KindLogValuer:
		return b, false
	case slog.KindFloat64:
		if f := v.Float64(); math.IsNaN(f) || math.IsInf(f, 0) {
			return b, false
		}
	case slog.KindTime:
		if y := v.Time().Year(); y < 0 || y >= 10000 {
			return b, false
		}
	}
	b = append(b, ',')
	b = jsonx.AppendLogString(b, a.Key)
	b = append(b, ':')
	switch v.Kind() {
	case slog.KindString:
		b = jsonx.AppendLogString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		b = jsonx.AppendFloat(b, v.Float64())
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		b = jsonx.AppendTime(b, v.Time())
	}
	return b, true
}
