package crm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// unreachable is a transport failure: the caller's own cancellation as is,
// anything else (timeout, refused connection) a short outage.
func unreachable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Drop the URL: it may hold a search term (an email address).
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	return &Unavailable{RetryAfter: OutageRetry, Reason: fmt.Sprintf("zoho unreachable: %v", err)}
}

// unavailable is a 429 or 5xx answer, retried after what the headers say or
// the default for the kind of answer.
func unavailable(res *http.Response, now time.Time) *Unavailable {
	if res.StatusCode == http.StatusTooManyRequests {
		return &Unavailable{RetryAfter: retryAfter(res.Header, now, RateLimitedRetry), Reason: "zoho rate limit"}
	}
	return &Unavailable{RetryAfter: retryAfter(res.Header, now, OutageRetry), Reason: fmt.Sprintf("zoho answered %d", res.StatusCode)}
}

// retryAfter reads Retry-After (seconds or an HTTP date), else Zoho's
// X-RATELIMIT-RESET: epoch milliseconds or seconds when it is that large,
// else seconds from now. The result is kept between 1 s and 1 h so a
// strange header can neither spin a client nor park it for days.
func retryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	d, ok := time.Duration(0), false
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			d, ok = time.Duration(s)*time.Second, true
		} else if t, err := http.ParseTime(v); err == nil {
			d, ok = t.Sub(now), true
		}
	}
	if v := h.Get("X-Ratelimit-Reset"); !ok && v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			switch {
			case n > 1e12:
				d = time.UnixMilli(n).Sub(now)
			case n > 1e9:
				d = time.Unix(n, 0).Sub(now)
			default:
				d = time.Duration(n) * time.Second
			}
			ok = true
		}
	}
	if !ok {
		return def
	}
	return min(max(d, time.Second), time.Hour)
}
