// Package jsonx reads and writes JSON without reflection, for the request
// and response types on every request's path. Its reader decodes exactly as
// encoding/json does with DisallowUnknownFields (a differential fuzz test
// holds it to that) and its writer produces the bytes json.Marshal would,
// at a fraction of their cost: each type spells out its own fields.
package jsonx

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// htmlSafe and logSafe are the ASCII bytes written as they are by
// json.Marshal and by slog's JSON handler: both escape control
// characters, the quote and the backslash; json.Marshal also escapes <, >
// and & (so that JSON can sit in HTML).
var htmlSafe, logSafe = func() (h, l [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		l[c] = c != '"' && c != '\\'
		h[c] = l[c] && c != '<' && c != '>' && c != '&'
	}
	return h, l
}()

// AppendString appends s as a JSON string, escaped as json.Marshal does:
// invalid UTF-8 becomes U+FFFD, and U+2028 and U+2029 are escaped.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s, &htmlSafe, true) }

// AppendLogString appends s as log/slog's JSON handler quotes it: as
// AppendString, but <, > and & as they are, and \b and \f as \u0008 and \u000c.
func AppendLogString(dst []byte, s string) []byte { return appendString(dst, s, &logSafe, false) }

func appendString(dst []byte, s string, safe *[utf8.RuneSelf]bool, shortBF bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch {
			case c == '\\' || c == '"':
				dst = append(dst, '\\', c)
			case c == '\b' && shortBF:
				dst = append(dst, '\\', 'b')
			case c == '\f' && shortBF:
				dst = append(dst, '\\', 'f')
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendStringPtr appends *s, or null.
func AppendStringPtr(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return AppendString(dst, *s)
}

// AppendStrings appends a string array; nil is null, as json.Marshal has it.
func AppendStrings(dst []byte, ss []string) []byte { return AppendArray(dst, ss, AppendString) }

// AppendArray appends items as a JSON array, each with appendOne; nil is
// null, as json.Marshal has it.
func AppendArray[T any](dst []byte, items []T, appendOne func([]byte, T) []byte) []byte {
	if items == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendOne(dst, it)
	}
	return append(dst, ']')
}

// AppendFloat appends f as json.Marshal does: plain notation from 1e-6 to
// 1e21, exponent notation outside, shortest round-tripping digits. NaN and
// infinities, which JSON cannot carry (json.Marshal fails on them), are
// written as null.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 -> e-9, as json.Marshal writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// AppendFloatPtr appends *f, or null.
func AppendFloatPtr(dst []byte, f *float64) []byte {
	if f == nil {
		return append(dst, "null"...)
	}
	return AppendFloat(dst, *f)
}

// AppendInt appends n.
func AppendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

// AppendBool appends b.
func AppendBool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

// AppendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds as needed). Only times of years 0 to 9999 are valid there.
func AppendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// AppendTimePtr appends *t, or null.
func AppendTimePtr(dst []byte, t *time.Time) []byte {
	if t == nil {
		return append(dst, "null"...)
	}
	return AppendTime(dst, *t)
}
