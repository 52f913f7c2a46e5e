package dynamo

import (
	"context"
	"testing"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// TestSignUpRacingTheLink: a sign-up whose link was opened before it was
// disabled or replaced fails whole (its transaction counts on the token's
// item): no user, no address taken.
func TestSignUpRacingTheLink(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	now := s.Now()
	c, err := clientele.NewCompany(clientele.CompanyInput{Name: "Acme"}, "", s.NewID(), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCompany(ctx, "p1", c, clientele.Actor{Type: "staff", ID: "s"}, nil); err != nil {
		t.Fatal(err)
	}
	link := func(nonce string) SignupLink {
		l := SignupLink{SignupLink: clientele.SignupLink{ID: s.NewID(), CompanyID: c.ID, AllowedDomains: []string{}, CreatedAt: now},
			PortalID: "p1", Nonce: nonce, TokenHash: "hash-" + nonce}
		if err := s.PutSignupLink(ctx, "p1", l, func(clientele.Portal, SignupLink) *idempotency.Record { return nil }); err != nil {
			t.Fatal(err)
		}
		opened, err := s.OpenSignupLink(ctx, "p1", l.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		return opened
	}
	user := func(email string) clientele.User {
		return clientele.User{ID: s.NewID(), Email: email, CompanyID: c.ID, ProfileID: clientele.BuiltInProfile, Status: clientele.Invited,
			Projects: []clientele.UserProject{}, CreatedAt: now, UpdatedAt: now, Version: 1}
	}
	for _, tt := range []struct {
		name  string
		after func(l SignupLink)
	}{
		{"disabled", func(SignupLink) {
			if err := s.DeleteSignupLink(ctx, "p1", c.ID, func(SignupLink) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", func(SignupLink) { link("second") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opened := link("first-" + tt.name)
			tt.after(opened)
			u := user(tt.name + "@acme.example")
			if err := s.SignUp(ctx, opened, u, ""); clientele.ErrorCode(err) != clientele.NotFound {
				t.Fatalf("sign-up through a %s link: %v, want NotFound", tt.name, err)
			}
			if _, err := s.GetUser(ctx, "p1", u.ID); clientele.ErrorCode(err) != clientele.NotFound {
				t.Fatalf("the user was written: %v", err)
			}
			if id, err := s.UserIDByEmail(ctx, "p1", u.Email); err != nil || id != "" {
				t.Fatalf("the address is taken by %q (%v)", id, err)
			}
		})
	}
}
