package clientele

import (
	"testing"
	"time"
)

func TestNewSignupLink(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	for _, tt := range []struct {
		name    string
		in      SignupLinkInput
		domains []string
		field   string // the field refused, "" when valid
	}{
		{"any address", SignupLinkInput{}, []string{}, ""},
		{"cleaned and deduplicated", SignupLinkInput{AllowedDomains: []string{" Acme.Example", "acme.example", "ops.acme.example"}}, []string{"acme.example", "ops.acme.example"}, ""},
		{"internationalised", SignupLinkInput{AllowedDomains: []string{"bücher.example"}}, []string{"bücher.example"}, ""},
		{"with @", SignupLinkInput{AllowedDomains: []string{"@acme.example"}}, nil, "allowedDomains[0]"},
		{"a URL", SignupLinkInput{AllowedDomains: []string{"acme.example", "https://acme.example"}}, nil, "allowedDomains[1]"},
		{"no dot", SignupLinkInput{AllowedDomains: []string{"localhost"}}, nil, "allowedDomains[0]"},
		{"too many", SignupLinkInput{AllowedDomains: make([]string, 21)}, nil, "allowedDomains"},
		{"expires tomorrow", SignupLinkInput{ExpiresAt: at(24 * time.Hour)}, []string{}, ""},
		{"expires now", SignupLinkInput{ExpiresAt: at(0)}, nil, "expiresAt"},
		{"expires in 367 days", SignupLinkInput{ExpiresAt: at(367 * 24 * time.Hour)}, nil, "expiresAt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewSignupLink(tt.in, "L1", "C1", now, Actor{Type: "staff", ID: "s"})
			if tt.field != "" {
				e, ok := err.(*Error)
				if !ok || e.Code != Invalid || e.Fields[0].Field != tt.field {
					t.Fatalf("err %v, want a refusal of %s", err, tt.field)
				}
				return
			}
			if err != nil || len(l.AllowedDomains) != len(tt.domains) {
				t.Fatalf("link %+v, %v", l, err)
			}
			for i, d := range tt.domains {
				if l.AllowedDomains[i] != d {
					t.Fatalf("domains %v, want %v", l.AllowedDomains, tt.domains)
				}
			}
		})
	}
}

func TestSignupLinkRules(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	ends := now.Add(time.Hour)
	l := SignupLink{ID: "L1", AllowedDomains: []string{"acme.example"}, ExpiresAt: &ends}
	for _, tt := range []struct {
		email string
		ok    bool
	}{{"kim@acme.example", true}, {"kim@eu.acme.example", false}, {"kim@acme.example.evil", false}, {"acme.example@evil.example", false}} {
		if got := l.Allows(tt.email); got != tt.ok {
			t.Errorf("Allows(%s) = %v", tt.email, got)
		}
	}
	if (SignupLink{}).Allows("anyone@anywhere.example") != true {
		t.Error("a link without domains refuses an address")
	}
	if l.Expired(ends.Add(-time.Millisecond)) || !l.Expired(ends) {
		t.Error("expiry is not at ExpiresAt")
	}
	start, next := SignupWindow(now)
	if !start.Equal(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)) || !next.Equal(start.Add(time.Hour)) {
		t.Errorf("window %v-%v", start, next)
	}
	if e := SignupRateLimited(now).(*Error); e.Code != Gated || e.RetryAfter != 30*time.Minute {
		t.Errorf("rate limited %+v", e)
	}
	if a := l.Actor(); a.Type != "signup-link" || a.ID != "L1" {
		t.Errorf("actor %v", a)
	}
}
