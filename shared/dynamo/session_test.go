package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// TestOpenInvite: a link names its user and company, so opening it is two
// requests; a link written before links named the company (or naming
// another) still opens, with the company read apart.
func TestOpenInvite(t *testing.T) {
	ctx := context.Background()
	s, proxy, clk := newStore(t)
	c := company(s, "Acme")
	if _, err := s.CreateCompany(ctx, "demo", c, staff, nil); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	u := clientele.User{ID: s.NewID(), Email: "ann@x.example", CompanyID: c.ID, ProfileID: clientele.BuiltInProfile, Status: clientele.Invited,
		PortalAccess: true, Projects: []clientele.UserProject{}, CreatedAt: now, UpdatedAt: now, Version: 1}
	u = u.WithInvitation(now, clientele.ReinviteInterval*7, "hash1")
	if err := s.CreateUser(ctx, "demo", u, "hash1", staff); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		link     string // the link's companyId: as written, removed, or another id
		requests int64
	}{{"as written", c.ID, 2}, {"written before links named the company", "", 3}, {"naming another company", s.NewID(), 3}} {
		t.Run(tt.name, func(t *testing.T) {
			upd := &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: key(invitePK("demo", "hash1"), skInvite),
				UpdateExpression: aws.String("REMOVE companyId")}
			if tt.link != "" {
				upd.UpdateExpression = aws.String("SET companyId = :c")
				upd.ExpressionAttributeValues = map[string]types.AttributeValue{":c": str(tt.link)}
			}
			if _, err := s.db.UpdateItem(ctx, upd); err != nil {
				t.Fatal(err)
			}
			before := proxy.Calls()
			inv, err := s.OpenInvite(ctx, "demo", "hash1")
			if err != nil || inv.User.ID != u.ID || inv.Company.ID != c.ID || inv.Company.Name != "Acme" || inv.Portal.ID != "demo" {
				t.Fatalf("OpenInvite = %+v, %v", inv, err)
			}
			if n := proxy.Calls() - before; n != tt.requests {
				t.Fatalf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

// TestInviteNotSent: the undo of a failed invitation records the error and
// reopens the gate together, and does neither for an invitation that a
// newer one has replaced.
func TestInviteNotSent(t *testing.T) {
	ctx := context.Background()
	s, _, clk := newStore(t)
	c := company(s, "Acme")
	if _, err := s.CreateCompany(ctx, "demo", c, staff, nil); err != nil {
		t.Fatal(err)
	}
	sent := clk.Now()
	u := clientele.User{ID: s.NewID(), Email: "bo@x.example", CompanyID: c.ID, ProfileID: clientele.BuiltInProfile, Status: clientele.Invited,
		PortalAccess: true, Projects: []clientele.UserProject{}, CreatedAt: sent, UpdatedAt: sent, Version: 1}
	u = u.WithInvitation(sent, 7*clientele.ReinviteInterval, "hash2")
	if err := s.CreateUser(ctx, "demo", u, "hash2", staff); err != nil {
		t.Fatal(err)
	}
	// Not the last invitation: nothing changes.
	if err := s.InviteNotSent(ctx, "demo", u.ID, sent.Add(-time.Hour), "stale"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, "demo", u.ID); got.InviteError != nil || s.gateClosed(ctx, "demo", u.ID) == nil {
		t.Fatalf("a stale undo wrote: error %v, gate closed %v", got.InviteError, s.gateClosed(ctx, "demo", u.ID))
	}
	// The last one: the error is recorded and the gate opens.
	if err := s.InviteNotSent(ctx, "demo", u.ID, sent, "not sent"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, "demo", u.ID); got.InviteError == nil || *got.InviteError != "not sent" || s.gateClosed(ctx, "demo", u.ID) != nil {
		t.Fatalf("the undo: error %v, gate %v", got.InviteError, s.gateClosed(ctx, "demo", u.ID))
	}
}
