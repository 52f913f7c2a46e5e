package invite_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
)

// TestAddAll: each address is its own outcome, in order (an address given
// twice in another case is refused as given twice); the created users
// are invited (one email each, to their address, the link on the API's
// base URL), the refused ones get nothing and say why.
func TestAddAll(t *testing.T) {
	ctx := context.Background()
	taken := "taken@example.com"
	st, ac, req := newPortal(t, taken)
	inv := st.Invitations("https://api.example.com")
	first := inv.AddAll(ctx, ac, req, staff)
	if len(first.Created) != 1 {
		t.Fatalf("setup: %+v", first)
	}
	before := len(st.Mail.Messages())

	req.Emails = []string{" New@Example.com ", "not an address", "new@example.com", taken, "second@example.com"}
	got := inv.AddAll(ctx, ac, req, staff)
	want := []struct {
		email string
		code  clientele.Code
	}{{"not an address", clientele.Invalid}, {"new@example.com", clientele.Invalid}, {taken, clientele.Conflict}}
	if len(got.Created) != 2 || got.Created[0].Email != "New@example.com" || got.Created[1].Email != "second@example.com" {
		t.Fatalf("created %+v", got.Created)
	}
	if len(got.Failed) != len(want) {
		t.Fatalf("failed %+v", got.Failed)
	}
	for i, w := range want {
		if f := got.Failed[i]; f.Email != w.email || clientele.ErrorCode(f.Err) != w.code {
			t.Errorf("failure %d: %s %v, want %s %s", i, f.Email, f.Err, w.email, w.code)
		}
	}
	if holder, ok := errors.AsType[clientele.EmailTaken](got.Failed[2].Err); !ok || holder.UserID != first.Created[0].ID || holder.Status != clientele.Invited {
		t.Errorf("the taken address names %+v, want %s", holder, first.Created[0].ID)
	}
	for _, u := range got.Created {
		if u.Status != clientele.Invited || u.Invite == nil || u.InviteError != nil || !u.Invite.ReinviteAvailableAt.Equal(u.CreatedAt.Add(24*time.Hour)) {
			t.Errorf("user %+v, invite %+v", u, u.Invite)
		}
	}
	all := st.Mail.Messages() // newest first
	mails := slices.Clone(all[:len(all)-before])
	slices.Reverse(mails)
	if len(mails) != 2 || mails[0].To[0] != "New@example.com" || mails[1].To[0] != "second@example.com" {
		t.Fatalf("%d mails: %+v", len(mails), mails)
	}
	if !strings.Contains(mails[0].Text, "https://api.example.com/portal/invite/"+stack.Portal+".") {
		t.Fatalf("the link is not on the base URL: %s", mails[0].Text)
	}
}

// TestFailedEmailUndone: an add whose email fails keeps the user, says why
// on the user, and reopens the gate, so a re-invite sends at once; a
// re-invite whose email fails is Unavailable and reopens it too.
func TestFailedEmailUndone(t *testing.T) {
	ctx := context.Background()
	st, ac, req := newPortal(t, "a@example.com")
	inv := st.Invitations("https://api.example.com")

	st.Mail.FailWith(500, "InternalFailure")
	got := inv.AddAll(ctx, ac, req, staff)
	if len(got.Created) != 1 || got.Created[0].InviteError == nil {
		t.Fatalf("add with SES down: %+v", got)
	}
	u := got.Created[0]
	if stored, err := st.Store.GetUser(ctx, stack.Portal, u.ID); err != nil || stored.InviteError == nil || *stored.InviteError != *u.InviteError {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	if _, err := inv.Reinvite(ctx, ac, u.ID, staff, nil); clientele.ErrorCode(err) != clientele.Unavailable {
		t.Fatalf("re-invite with SES down: %v", err)
	}

	st.Mail.FailWith(0, "")
	before := len(st.Mail.Messages())
	again, err := inv.Reinvite(ctx, ac, u.ID, staff, nil)
	if err != nil || again.InviteError != nil || len(st.Mail.Messages()) != before+1 {
		t.Fatalf("re-invite once SES is back: %+v, %v", again, err)
	}
	if _, err := inv.Reinvite(ctx, ac, u.ID, staff, nil); clientele.ErrorCode(err) != clientele.Gated {
		t.Fatalf("a second re-invite within the gate: %v", err)
	}
}

// newPortal starts a stack with one company and answers its AddContext
// and a request for addresses of it.
func newPortal(t *testing.T, emails ...string) (*stack.Stack, dynamo.AddContext, clientele.NewUsers) {
	t.Helper()
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	c, err := clientele.NewCompany(clientele.CompanyInput{Name: "Client Co"}, "", st.Store.NewID(), st.Store.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.CreateCompany(ctx, stack.Portal, c, staff, nil); err != nil {
		t.Fatal(err)
	}
	req, err := clientele.UsersInput{Emails: emails, CompanyID: c.ID}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	ac, err := st.Store.ReadAddContext(ctx, stack.Portal, c.ID, nil, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return st, ac, req
}

var staff = clientele.Actor{Type: "staff", ID: "o"}
