package function_test

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/awsclient"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/kmscrm"
	"github.com/clientele/clientele/shared/function/s3exports"
	"github.com/clientele/clientele/shared/function/sesmail"
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
		"DYNAMODB_ENDPOINT": endpoint, "SES_ENDPOINT": endpoint, "MAIL_FROM": "no-reply@example.com",
		"EXPORTS_BUCKET": "exports", "CRM_KMS_KEY_ID": "alias/crm", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
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
			rt, err := function.Init(env(endpoint), function.Routes(router), config.Mail, sesmail.Option)
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
		b, err := function.Load(func(k string) string {
			if k == "API_BASE_URL" {
				return "https://api.example.com"
			}
			return vars(k)
		}, config.Reminders)
		if err != nil || sesmail.Mailer(b) == nil || b.Config.APIBaseURL != "https://api.example.com" {
			t.Fatalf("base %+v, %v", b, err)
		}
	})
	if n := conns.Load(); n != 0 {
		t.Fatalf("init opened %d connections", n)
	}
}

// The reminders have no request to take the API's address from.
func TestRemindersNeedAPIBaseURL(t *testing.T) {
	_, err := function.Load(env("http://127.0.0.1:1"), config.Reminders)
	if err == nil || !strings.Contains(err.Error(), "API_BASE_URL") {
		t.Fatalf("got %v", err)
	}
}

func TestInitNamesMissingConfig(t *testing.T) {
	_, err := function.Init(func(string) string { return "" }, function.Routes(api.Portal), config.API)
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") || !strings.Contains(err.Error(), "CURSOR_SECRET") {
		t.Fatalf("got %v", err)
	}
}

// initFunctions is every function's init, as its main runs it.
var initFunctions = map[string]func(getenv func(string) string) error{
	"portal": func(g func(string) string) error {
		_, err := function.Init(g, function.Routes(api.Portal), config.API)
		return err
	},
	"companies": func(g func(string) string) error {
		_, err := function.Init(g, function.Routes(api.Companies), config.Mail, sesmail.Option)
		return err
	},
	"projects": func(g func(string) string) error {
		_, err := function.Init(g, function.Routes(api.Projects), config.Mail, sesmail.Option)
		return err
	},
	"users": func(g func(string) string) error {
		_, err := function.Init(g, function.Routes(api.Users), config.Mail, sesmail.Option)
		return err
	},
	"client": func(g func(string) string) error {
		_, err := function.Init(g, function.Routes(api.Client), config.Mail, sesmail.Option)
		return err
	},
	"exports": func(g func(string) string) error {
		_, err := function.Init(g, s3exports.Router, config.Exports)
		return err
	},
	"crm": func(g func(string) string) error {
		_, err := function.Init(g, kmscrm.Router, config.CRM, sesmail.Option)
		return err
	},
	"reminders": func(g func(string) string) error {
		b, err := function.Load(func(k string) string {
			if k == "API_BASE_URL" {
				return "https://api.example.com"
			}
			return g(k)
		}, config.Reminders)
		_ = sesmail.Mailer(b)
		return err
	},
}

// TestInitBuildsConfigOnce: each init builds the SDK configuration exactly
// once (the handlers reuse it; see api.TestSDKConfigOncePerProcess).
func TestInitBuildsConfigOnce(t *testing.T) {
	endpoint, _ := listener(t)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for name, init := range initFunctions {
		before := awsclient.Loads()
		if err := init(env(endpoint)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := awsclient.Loads() - before; n != 1 {
			t.Fatalf("%s: init built the SDK configuration %d times", name, n)
		}
	}
}

// BenchmarkInit measures each function's init work: configuration, SDK
// config and clients, handler construction.
func BenchmarkInit(b *testing.B) {
	endpoint, _ := listener(b)
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, name := range []string{"portal", "companies", "projects", "users", "client", "reminders"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := initFunctions[name](env(endpoint)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
