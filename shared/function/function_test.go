package function

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/httpapi"
)

// listener counts connection attempts to a loopback port.
func listener(t testing.TB) (string, *atomic.Int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = l.Close() })
	return "http://" + l.Addr().String(), &n
}

func env(endpoint string) func(string) string {
	vars := map[string]string{
		"TABLE_NAME": "t", "CURSOR_SECRET": strings.Repeat("x", 32), "AWS_REGION": "eu-west-1",
		"DYNAMODB_ENDPOINT": endpoint, "SES_ENDPOINT": endpoint, "MAIL_FROM": "no-reply@example.com", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
	}
	return func(k string) string { return vars[k] }
}

// TestInitMakesNoNetworkCalls: init builds config, clients and router
// without touching the network, so a cold start pays no round trip.
func TestInitMakesNoNetworkCalls(t *testing.T) {
	endpoint, conns := listener(t)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for name, router := range map[string]func(api.Deps) *httpapi.Router{
		"portal": api.Portal, "companies": api.Companies, "projects": api.Projects, "users": api.Users,
	} {
		t.Run(name, func(t *testing.T) {
			rt, err := Init(context.Background(), env(endpoint), router, config.Mail)
			if err != nil {
				t.Fatal(err)
			}
			if len(rt.Routes()) == 0 {
				t.Fatal("no routes")
			}
		})
	}
	t.Run("reminders", func(t *testing.T) {
		vars := env(endpoint)
		d, err := Deps(context.Background(), func(k string) string {
			if k == "API_BASE_URL" {
				return "https://api.example.com"
			}
			return vars(k)
		}, config.Reminders)
		if err != nil || d.Mailer == nil || d.APIBaseURL != "https://api.example.com" {
			t.Fatalf("deps %+v, %v", d, err)
		}
	})
	if n := conns.Load(); n != 0 {
		t.Fatalf("init opened %d connections", n)
	}
}

// The reminders have no request to take the API's address from.
func TestRemindersNeedAPIBaseURL(t *testing.T) {
	_, err := Deps(context.Background(), env("http://127.0.0.1:1"), config.Reminders)
	if err == nil || !strings.Contains(err.Error(), "API_BASE_URL") {
		t.Fatalf("got %v", err)
	}
}

func TestInitNamesMissingConfig(t *testing.T) {
	_, err := Init(context.Background(), func(string) string { return "" }, api.Portal, config.API)
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") || !strings.Contains(err.Error(), "CURSOR_SECRET") {
		t.Fatalf("got %v", err)
	}
}

// BenchmarkInit measures a function's init work: configuration, SDK config
// and clients, handler construction.
func BenchmarkInit(b *testing.B) {
	endpoint, _ := listener(b)
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Init(context.Background(), env(endpoint), api.Companies, config.API); err != nil {
			b.Fatal(err)
		}
	}
}
