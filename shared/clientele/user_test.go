package clientele

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEmailList(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"a@x.com"`, "[a@x.com]", true},
		{`" a@x.com , b@y.com ,, "`, "[a@x.com b@y.com]", true},
		{`["a@x.com","b@y.com"]`, "[a@x.com b@y.com]", true},
		{`""`, "[]", true},
		{`7`, "", false},
		{`[1]`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var l EmailList
			err := json.Unmarshal([]byte(tt.in), &l)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v", err)
			}
			if tt.ok && fmt.Sprint([]string(l)) != tt.want {
				t.Fatalf("got %v, want %s", l, tt.want)
			}
		})
	}
}

func TestWithInvite(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	sent, exp := now.Add(-time.Hour), now.Add(time.Hour)
	past := now.Add(-time.Minute)
	tests := []struct {
		name string
		u    User
		want string // state, or "" for no invite
	}{
		{"pending", User{PortalAccess: true, Status: Invited, LastInvitedAt: &sent, InviteExpiresAt: &exp}, InvitePending},
		{"expired", User{PortalAccess: true, Status: Invited, LastInvitedAt: &sent, InviteExpiresAt: &past}, InviteExpired},
		{"accepted", User{PortalAccess: true, Status: Active, LastInvitedAt: &sent, InviteExpiresAt: &past, AcceptedAt: &sent}, InviteAccepted},
		{"no portal access", User{PortalAccess: false, Status: Invited}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.u.WithInvite(now).Invite
			switch {
			case tt.want == "" && got != nil, tt.want != "" && (got == nil || got.State != tt.want):
				t.Fatalf("got %+v, want %q", got, tt.want)
			case got != nil && !got.ReinviteAvailableAt.Equal(sent.Add(ReinviteInterval)):
				t.Fatalf("reinviteAvailableAt %v", got.ReinviteAvailableAt)
			}
		})
	}
}

func TestUsersInputValidate(t *testing.T) {
	rate, no := 50.0, false
	name := "Ann"
	company := "01JB0000000000000000000000"
	tests := []struct {
		name   string
		in     UsersInput
		fields string
	}{
		{"minimal", UsersInput{Emails: EmailList{"a@x.com"}, CompanyID: company}, ""},
		{"no company", UsersInput{Emails: EmailList{"a@x.com"}}, "[companyId]"},
		{"rate without projects", UsersInput{Emails: EmailList{"a@x.com"}, CompanyID: company, RatePerHour: &rate}, "[ratePerHour]"},
		{"name for two", UsersInput{Emails: EmailList{"a@x.com", "b@x.com"}, CompanyID: company, Name: &name}, "[name]"},
		{"no portal access", UsersInput{Emails: EmailList{"a@x.com"}, CompanyID: company, PortalAccess: &no}, ""},
		{"more projects than a user may have", UsersInput{Emails: EmailList{"a@x.com"}, CompanyID: company, ProjectIDs: manyIDs(MaxProjectsPerUser + 1)}, "[projectIds]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Validate()
			var fields []string
			if e, ok := err.(*Error); ok {
				for _, f := range e.Fields {
					fields = append(fields, f.Field)
				}
			}
			if fmt.Sprint(fields) != tt.fields && !(tt.fields == "" && fields == nil) {
				t.Fatalf("fields %v, want %s", fields, tt.fields)
			}
			if err == nil && (got.Template.PortalAccess != (tt.in.PortalAccess == nil) || got.Template.ProfileID != BuiltInProfile) {
				t.Fatalf("template %+v", got.Template)
			}
		})
	}
}

func TestUserPatchProjectCap(t *testing.T) {
	cid := "01JB0000000000000000000000"
	cur := User{CompanyID: cid}
	projects := map[string]Project{}
	var add []string
	for i := range MaxProjectsPerUser + 1 {
		id := fmt.Sprintf("01JB00000000000000000%05d", i)
		projects[id] = Project{ID: id, CompanyIDs: []string{cid}}
		if i < MaxProjectsPerUser {
			cur.Projects = append(cur.Projects, UserProject{ProjectID: id})
		} else {
			add = append(add, id)
		}
	}
	_, _, err := UserPatch{AddProjectIDs: add}.Apply(cur, projects)
	if ErrorCode(err) != Invalid {
		t.Fatalf("got %v, want a field error past %d projects", err, MaxProjectsPerUser)
	}
}

func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("01JB00000000000000000%05d", i)
	}
	return out
}

// TestInvitationTimes: one invitation's times all follow from when it was
// sent: the link's expiry, the 24-hour gate, the first reminder; and the
// gate's refusal says when it opens.
func TestInvitationTimes(t *testing.T) {
	sent := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	msg := "old failure"
	u := User{Status: Invited, PortalAccess: true, InviteError: &msg}.WithInvitation(sent, 72*time.Hour, "h")
	if *u.InviteTokenHash != "h" || !u.InviteExpiresAt.Equal(sent.Add(72*time.Hour)) || !u.LastInvitedAt.Equal(sent) ||
		!u.InvitedAt.Equal(sent) || !u.RemindAt.Equal(sent.Add(24*time.Hour)) || u.InviteError != nil {
		t.Fatalf("invited %+v", u)
	}
	later := sent.Add(48 * time.Hour)
	if again := u.WithInvitation(later, time.Hour, "h2"); !again.InvitedAt.Equal(sent) || !again.LastInvitedAt.Equal(later) {
		t.Fatalf("a second invitation moved invitedAt: %+v", again)
	}
	if inv := u.WithInvite(sent); !inv.Invite.ReinviteAvailableAt.Equal(ReinviteAvailableAt(sent)) || !inv.Invite.NextReminderAt.Equal(sent.Add(24*time.Hour)) {
		t.Fatalf("invite %+v", inv.Invite)
	}
	for _, tt := range []struct {
		name      string
		now       time.Time
		wantRetry time.Duration
	}{{"an hour after", sent.Add(time.Hour), 23 * time.Hour}, {"a moment before it opens", ReinviteAvailableAt(sent).Add(-time.Millisecond), time.Second}} {
		err := fmt.Errorf("reinvite: %w", GatedUntil(ReinviteAvailableAt(sent), tt.now))
		g, ok := errors.AsType[InviteGated](err)
		e, _ := errors.AsType[*Error](err)
		if !ok || !g.AvailableAt.Equal(ReinviteAvailableAt(sent)) || e.RetryAfter != tt.wantRetry || ErrorCode(err) != Gated ||
			e.Extra["reinviteAvailableAt"] != ReinviteAvailableAt(sent) {
			t.Errorf("%s: %v (%+v, retry %v)", tt.name, err, g, e.RetryAfter)
		}
	}
	if _, ok := errors.AsType[InviteGated](Errorf(Conflict, "x")); ok {
		t.Error("InviteGated from another error")
	}
}

func TestEmailTaken(t *testing.T) {
	for _, tt := range []struct {
		name, id, status string
		deactivated      bool
	}{{"active holder", "01JD0QF7G9H1J3K5M7N9P1Q3RS", Active, false}, {"deactivated holder", "01JD0QF7G9H1J3K5M7N9P1Q3RS", Deactivated, true}, {"holder unknown", "", "", false}} {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("create: %w", error(EmailTaken{UserID: tt.id, Status: tt.status}))
			taken, ok := errors.AsType[EmailTaken](err)
			e, _ := errors.AsType[*Error](err)
			if !ok || ErrorCode(err) != Conflict || taken.UserID != tt.id || taken.Status != tt.status || strings.Contains(e.Message, "activate") != tt.deactivated {
				t.Fatalf("EmailTaken{%q, %q} = %v; %+v", tt.id, tt.status, err, taken)
			}
			if _, has := e.Extra["existingUserId"]; has != (tt.id != "") {
				t.Fatalf("existingUserId in %v", e.Extra)
			}
		})
	}
	if _, ok := errors.AsType[EmailTaken](Errorf(Conflict, "x")); ok {
		t.Fatal("EmailTaken from another error")
	}
}

// TestRefusals: each refusal is the *Error that renders it (code, kind,
// members), through wrapping too.
func TestRefusals(t *testing.T) {
	for _, tt := range []struct {
		err    error
		code   Code
		kind   string
		member string
		value  any
	}{
		{LimitReached{Limit: SeatLimit}, Conflict, "seat-limit", "", nil},
		{LimitReached{Limit: NoAccessLimit}, Conflict, "no-access-limit", "", nil},
		{Undeliverable{Delivery: Delivery{State: Complained}}, Conflict, "", "delivery", Delivery{State: Complained}},
		{ContactImported{UserID: "u1"}, Conflict, "crm-imported", "existingUserId", "u1"},
		{AccountLinked{CompanyID: "c1"}, Conflict, "crm-linked", "existingCompanyId", "c1"},
		{DealConverted{ProjectID: "p1"}, Conflict, "deal-converted", "projectId", "p1"},
		{CompanyNameTaken{Name: "Acme", CompanyID: "c2"}, Conflict, "", "existingCompanyId", "c2"},
		{InUse{Message: "in use", UserCount: 3}, Conflict, "", "userCount", 3},
	} {
		t.Run(fmt.Sprintf("%T", tt.err), func(t *testing.T) {
			e, ok := errors.AsType[*Error](fmt.Errorf("wrapped: %w", tt.err))
			if !ok || e.Code != tt.code || e.Kind != tt.kind || e.Message == "" || e.Error() != tt.err.Error() {
				t.Fatalf("%v: %+v", tt.err, e)
			}
			if tt.member != "" && e.Extra[tt.member] != tt.value {
				t.Fatalf("%s = %v, want %v", tt.member, e.Extra[tt.member], tt.value)
			}
		})
	}
}
