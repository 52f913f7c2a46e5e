// Package logs is the logger of every function: slog's JSON handler on
// stdout, one line per record.
package logs

import (
	"log/slog"
	"os"
)

// Logger is the JSON logger of every function, at level (info when it does
// not parse).
func Logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l}))
}
