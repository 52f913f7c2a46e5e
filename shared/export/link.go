package export

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Links issues download links of finished exports.
type Links struct {
	Presign *s3.PresignClient
	Creds   aws.CredentialsProvider // the signing credentials, to cap a link at their expiry
	Bucket  string
	TTL     time.Duration
}

// URL presigns a GET of key that downloads as filename, valid for the
// configured TTL but never past the expiry of the credentials that sign it
// (a presigned URL dies with them). It returns the URL and its expiry.
func (l *Links) URL(ctx context.Context, key, filename string) (string, time.Time, error) {
	ttl := l.TTL
	if l.Creds != nil {
		creds, err := l.Creds.Retrieve(ctx)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("signing credentials: %w", err)
		}
		if creds.CanExpire {
			if left := time.Until(creds.Expires) - time.Minute; left < ttl {
				ttl = left
			}
		}
	}
	if ttl < time.Second {
		return "", time.Time{}, fmt.Errorf("signing credentials expire too soon")
	}
	ttl = ttl.Truncate(time.Second)
	req, err := l.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key),
		ResponseContentDisposition: aws.String(`attachment; filename="` + filename + `"`)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("presign: %w", err)
	}
	return req.URL, expiry(req.URL, ttl), nil
}

// expiry is when a presigned URL stops working: its signing time plus
// X-Amz-Expires.
func expiry(raw string, ttl time.Duration) time.Time {
	u, err := url.Parse(raw)
	if err != nil {
		return time.Now().Add(ttl).UTC().Truncate(time.Second)
	}
	q := u.Query()
	at, err1 := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	secs, err2 := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err1 != nil || err2 != nil {
		return time.Now().Add(ttl).UTC().Truncate(time.Second)
	}
	return at.Add(time.Duration(secs) * time.Second).UTC()
}
