package seal_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	localkms "github.com/clientele/clientele/infra/local/kms"
	"github.com/clientele/clientele/shared/seal"
)

const secret = "refresh-token-0123456789"

// stack is a stand-in over HTTP and a real SDK client pointed at it, with
// the SDK's retries on but without their waits.
func stack(t *testing.T) (*localkms.KMS, aws.Config, string) {
	t.Helper()
	k := localkms.New()
	srv := httptest.NewServer(k.Handler())
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
	return k, cfg, srv.URL
}

func TestSealOpen(t *testing.T) {
	k, cfg, url := stack(t)
	client := seal.Client(cfg, url)
	s := seal.New(client, localkms.Alias)
	ctx := context.Background()
	sealed, err := s.Seal(ctx, "portal-a", []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	other := k.CreateKey()

	tests := []struct {
		name       string
		sealer     *seal.Sealer
		portal     string
		ciphertext []byte
		want       error // nil: opens to secret
	}{
		{"round trip", s, "portal-a", sealed, nil},
		{"by key id", seal.New(client, localkms.KeyID), "portal-a", sealed, nil},
		{"by key ARN", seal.New(client, localkms.KeyARN(localkms.KeyID)), "portal-a", sealed, nil},
		{"other portal", s, "portal-b", sealed, seal.ErrInvalid},
		{"other purpose", s.WithPurpose("webhook-secret"), "portal-a", sealed, seal.ErrInvalid},
		{"tampered", s, "portal-a", tampered, seal.ErrInvalid},
		{"truncated", s, "portal-a", sealed[:10], seal.ErrInvalid},
		{"garbage", s, "portal-a", []byte("not a blob"), seal.ErrInvalid},
		{"empty", s, "portal-a", nil, seal.ErrInvalid},
		{"other key", seal.New(client, other), "portal-a", sealed, seal.ErrInvalid},
		{"no portal", s, "", sealed, seal.ErrNoPortal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(ctx, tt.portal, tt.ciphertext)
			if tt.want == nil {
				if err != nil || string(got) != secret {
					t.Fatalf("Open = %q, %v; want the secret", got, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if errors.Is(err, seal.ErrUnavailable) {
				t.Fatalf("Open error %v is also ErrUnavailable", err)
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	_, cfg, url := stack(t)
	client := seal.Client(cfg, url)
	tests := []struct {
		name      string
		key       string
		portal    string
		plaintext []byte
		want      error
		wantText  string
	}{
		{"too large", localkms.Alias, "p", bytes.Repeat([]byte("x"), seal.MaxPlaintext+1), seal.ErrTooLarge, "4097 bytes"},
		{"at the limit", localkms.Alias, "p", bytes.Repeat([]byte("x"), seal.MaxPlaintext), nil, ""},
		{"empty", localkms.Alias, "p", nil, seal.ErrEmpty, ""},
		{"no portal", localkms.Alias, "", []byte(secret), seal.ErrNoPortal, ""},
		{"unknown key id", "alias/nope", "p", []byte(secret), nil, "NotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seal.New(client, tt.key).Seal(context.Background(), tt.portal, tt.plaintext)
			if tt.want == nil && tt.wantText == "" && err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Seal error %v; want %v", err, tt.want)
			}
			if tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)) {
				t.Fatalf("Seal error %v; want one saying %q", err, tt.wantText)
			}
			// A misconfigured key is neither the stored secret's fault nor
			// a transient outage: the caller answers 500.
			if errors.Is(err, seal.ErrInvalid) || errors.Is(err, seal.ErrUnavailable) {
				t.Fatalf("Seal error %v classified", err)
			}
			if err != nil && strings.Contains(err.Error(), "xxxx") {
				t.Fatal("error contains plaintext")
			}
		})
	}
	sealed, err := seal.New(client, localkms.Alias).Seal(context.Background(), "p", []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	_, err = seal.New(client, "alias/nope").Open(context.Background(), "p", sealed)
	if err == nil || errors.Is(err, seal.ErrInvalid) || errors.Is(err, seal.ErrUnavailable) {
		t.Fatalf("Open with an unknown key: %v; want an unclassified error", err)
	}
}

func TestUnavailable(t *testing.T) {
	all := func(string) bool { return true }
	tests := []struct {
		name  string
		setup func(k *localkms.KMS)
		code  string // exception the error still wraps
	}{
		{"500 KMSInternalException", func(k *localkms.KMS) { k.Fail(all) }, "KMSInternalException"},
		{"ThrottlingException", func(k *localkms.KMS) { k.Throttle(all) }, "ThrottlingException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, cfg, url := stack(t)
			s := seal.New(seal.Client(cfg, url), localkms.Alias)
			ctx := context.Background()
			sealed, err := s.Seal(ctx, "p", []byte(secret))
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(k)
			if _, err := s.Seal(ctx, "p", []byte(secret)); !errors.Is(err, seal.ErrUnavailable) {
				t.Fatalf("Seal error %v; want ErrUnavailable", err)
			}
			_, err = s.Open(ctx, "p", sealed)
			if !errors.Is(err, seal.ErrUnavailable) || errors.Is(err, seal.ErrInvalid) {
				t.Fatalf("Open error %v; want ErrUnavailable only", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatal("error contains plaintext")
			}
			if api := smithy.APIError(nil); !errors.As(err, &api) || api.ErrorCode() != tt.code {
				t.Fatalf("error %v does not wrap %s", err, tt.code)
			}
			// The SDK retried: 1 + 3 attempts of Encrypt, 3 of Decrypt.
			if c := k.Calls(); c["Encrypt"] != 4 || c["Decrypt"] != 3 {
				t.Fatalf("calls %v; want 4 Encrypt, 3 Decrypt", c)
			}
			k.Fail(nil)
			k.Throttle(nil)
			if got, err := s.Open(ctx, "p", sealed); err != nil || string(got) != secret {
				t.Fatalf("after recovery Open = %q, %v", got, err)
			}
		})
	}
}

func TestNetworkUnavailable(t *testing.T) {
	_, cfg, _ := stack(t)
	srv := httptest.NewServer(nil)
	dead := srv.URL
	srv.Close() // nothing listens there now
	_, err := seal.New(seal.Client(cfg, dead), localkms.Alias).Seal(context.Background(), "p", []byte(secret))
	if !errors.Is(err, seal.ErrUnavailable) {
		t.Fatalf("Seal error %v; want ErrUnavailable", err)
	}
}
