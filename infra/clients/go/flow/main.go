// Command flow drives the client that oapi-codegen generates from the
// OpenAPI document (package apiclient, generated at test time: see infra/clients) through
// one short flow against a running API: create a company, add a client user
// to it, read the user back, list the company's users, change the portal's
// settings. CLIENTELE_URL is the API's base URL, CLIENTELE_TOKEN an owner's
// bearer token. It exits non-zero on the first answer that is not the one
// the contract promises.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/clientele/clientele/infra/clients/go/apiclient"
)

func main() {
	if err := run(context.Background(), os.Getenv("CLIENTELE_URL"), os.Getenv("CLIENTELE_TOKEN")); err != nil {
		fmt.Fprintln(os.Stderr, "go flow:", err)
		os.Exit(1)
	}
	fmt.Println("go flow: ok")
}

func run(ctx context.Context, baseURL, token string) error {
	if baseURL == "" || token == "" {
		return fmt.Errorf("CLIENTELE_URL and CLIENTELE_TOKEN must be set")
	}
	c, err := apiclient.NewClientWithResponses(baseURL, apiclient.WithRequestEditorFn(
		func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		return err
	}

	// Only the required field: type and createUserGroup take their defaults.
	co, err := c.CreateCompanyWithResponse(ctx, nil, apiclient.CompanyCreate{Name: "Go Flow Ltd"})
	if err != nil {
		return fmt.Errorf("create company: %w", err)
	}
	if err := expect(co.StatusCode(), co.Body, http.StatusCreated, co.JSON201 != nil); err != nil {
		return fmt.Errorf("create company: %w", err)
	}
	company := co.JSON201
	if company.Name != "Go Flow Ltd" || company.Type != apiclient.Business || company.CreateUserGroup || company.Version != 1 {
		return fmt.Errorf("create company: got %+v", *company)
	}
	if want := "/v1/companies/" + company.Id; !strings.HasSuffix(co.Headers201.Location, want) || co.Headers201.ETag == "" {
		return fmt.Errorf("create company: Location %q (want …%s), ETag %q", co.Headers201.Location, want, co.Headers201.ETag)
	}

	var emails apiclient.UsersCreate_Emails
	if err := emails.FromUsersCreateEmails0("go.flow@example.com"); err != nil {
		return err
	}
	key := "go-flow-" + company.Id
	us, err := c.CreateUsersWithResponse(ctx, &apiclient.CreateUsersParams{IdempotencyKey: &key},
		apiclient.UsersCreate{CompanyId: company.Id, Emails: emails})
	if err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	if err := expect(us.StatusCode(), us.Body, http.StatusCreated, us.JSON201 != nil); err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	if len(us.JSON201.Created) != 1 || len(us.JSON201.Failed) != 0 {
		return fmt.Errorf("add user: got %+v", *us.JSON201)
	}
	added := us.JSON201.Created[0]
	if string(added.Email) != "go.flow@example.com" || added.CompanyId != company.Id ||
		added.Status != apiclient.UserStatusInvited || added.ProfileId != "client" || !added.PortalAccess ||
		added.Invite == nil || added.InvitedAt == nil {
		return fmt.Errorf("add user: got %+v", added)
	}

	got, err := c.GetUserWithResponse(ctx, added.Id)
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	if err := expect(got.StatusCode(), got.Body, http.StatusOK, got.JSON200 != nil); err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	if u := got.JSON200; u.Id != added.Id || u.Email != added.Email || u.Status != apiclient.UserStatusInvited || u.Version != added.Version {
		return fmt.Errorf("get user: got %+v, want %+v", *u, added)
	}

	list, err := c.ListUsersWithResponse(ctx, &apiclient.ListUsersParams{CompanyId: &company.Id})
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	if err := expect(list.StatusCode(), list.Body, http.StatusOK, list.JSON200 != nil); err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	ids := make([]string, 0, len(list.JSON200.Items))
	for _, u := range list.JSON200.Items {
		ids = append(ids, u.Id)
	}
	if !slices.Equal(ids, []string{added.Id}) || list.JSON200.NextCursor != nil {
		return fmt.Errorf("list users: ids %v, nextCursor %v; want [%s] and null", ids, list.JSON200.NextCursor, added.Id)
	}

	// A conditional change: the portal's ETag from a read, then a stale
	// one, whose 412 decodes into the typed problem.
	p, err := c.GetPortalWithResponse(ctx)
	if err != nil {
		return fmt.Errorf("get portal: %w", err)
	}
	if err := expect(p.StatusCode(), p.Body, http.StatusOK, p.JSON200 != nil); err != nil {
		return fmt.Errorf("get portal: %w", err)
	}
	etag := p.Headers200.ETag
	seats, ttl := 25, 72
	up, err := c.UpdatePortalWithResponse(ctx, &apiclient.UpdatePortalParams{IfMatch: &etag},
		apiclient.PortalUpdate{ClientSeatLimit: &seats, InviteLinkTtlHours: &ttl})
	if err != nil {
		return fmt.Errorf("update portal: %w", err)
	}
	if err := expect(up.StatusCode(), up.Body, http.StatusOK, up.JSON200 != nil); err != nil {
		return fmt.Errorf("update portal: %w", err)
	}
	if pt := up.JSON200; pt.ClientSeatLimit == nil || *pt.ClientSeatLimit != seats || pt.InviteLinkTtlHours != ttl ||
		pt.Version != p.JSON200.Version+1 || pt.SeatsUsed == nil || *pt.SeatsUsed != 1 || up.Headers200.ETag == etag {
		return fmt.Errorf("update portal: got %+v (ETag %s), before version %d (ETag %s)", *pt, up.Headers200.ETag, p.JSON200.Version, etag)
	}
	stale, err := c.UpdatePortalWithResponse(ctx, &apiclient.UpdatePortalParams{IfMatch: &etag}, apiclient.PortalUpdate{InviteLinkTtlHours: &ttl})
	if err != nil {
		return fmt.Errorf("update portal with a stale ETag: %w", err)
	}
	if err := expect(stale.StatusCode(), stale.Body, http.StatusPreconditionFailed, stale.ApplicationproblemJSON412 != nil); err != nil {
		return fmt.Errorf("update portal with a stale ETag: %w", err)
	}
	if pr := stale.ApplicationproblemJSON412; pr.Type != apiclient.PreconditionFailedTypeProblemspreconditionFailed ||
		pr.CurrentETag == nil || *pr.CurrentETag != up.Headers200.ETag {
		return fmt.Errorf("update portal with a stale ETag: got %+v, want currentETag %s", *pr, up.Headers200.ETag)
	}
	return nil
}

// expect checks an answer's status and that the typed body for that status
// was decoded; on failure it shows the raw answer.
func expect(got int, body []byte, want int, decoded bool) error {
	if got != want || !decoded {
		return fmt.Errorf("status %d, want %d with a typed body; body: %s", got, want, body)
	}
	return nil
}
