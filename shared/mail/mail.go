// Package mail renders Clientele's email: the built-in invitation and notice
// templates and the portal's own invitation templates. Sending is package
// mail/ses's, so that a function that renders no mail links no SES client.
package mail

import (
	"strings"
	"time"
)

// RetryAfter is the delay suggested to callers when SES is unavailable.
const RetryAfter = 30 * time.Second

// Message is one email: plain-text and HTML parts. At least one part is
// required. Tags become SES message tags (names and values of ASCII letters,
// digits, '_' and '-', at most 256 characters).
type Message struct {
	To, Subject, Text, HTML string
	Tags                    map[string]string
}

// OneLine folds line breaks and other control characters of a subject into
// spaces, so that no value can add a header line.
func OneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029'
	}), " ")
}
