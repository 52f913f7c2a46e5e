package api

import (
	"context"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
)

// Companies is the router of the companies function.
func Companies(d Deps) *httpapi.Router {
	rt := d.router()
	rt.Handle("POST /v1/companies", httpapi.Write, d.createCompany)
	rt.Handle("GET /v1/companies", httpapi.Read, d.listCompanies)
	rt.Handle("GET /v1/companies/{companyId}", httpapi.Read, d.getCompany)
	rt.Handle("PATCH /v1/companies/{companyId}", httpapi.Write, d.patchCompany)
	rt.Handle("DELETE /v1/companies/{companyId}", httpapi.Write, d.deleteCompany)
	rt.Handle("GET /v1/companies/{companyId}/history", httpapi.Read, d.companyHistory)
	rt.Handle("GET /v1/companies/{companyId}/users", httpapi.Read, d.listCompanyUsers)
	rt.Handle("GET /v1/companies/{companyId}/group", httpapi.Read, d.companyGroup)
	signupLinkRoutes(d, rt)
	return rt
}

func companyURL(id string) string { return "/v1/companies/" + id }

func (d Deps) createCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.CompanyInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	c, err := clientele.NewCompany(in, "", d.Store.NewID(), d.Store.Now())
	if err != nil {
		return nil, err
	}
	resp := httpapi.Created(companyURL(c.ID), c.Version, c)
	if _, err := d.Store.CreateCompany(ctx, r.Principal.PortalID, c, actor(r), r.Record(resp)); err != nil {
		return nil, err
	}
	return resp, nil
}

func (d Deps) listCompanies(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	q := clientele.NameKey(r.Query("q"))
	query := queryKey("companies", q)
	limit, start, err := listArgs(d, r, query)
	if err != nil {
		return nil, err
	}
	p, err := d.Store.ListCompanies(ctx, r.Principal.PortalID, q, limit, start)
	if err != nil {
		return nil, err
	}
	return page(d, r, query, p), nil
}

func (d Deps) getCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	c, err := d.Store.GetCompany(ctx, r.Principal.PortalID, id)
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(200, crmView(r, c)), c.Version), nil
}

func (d Deps) patchCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	var patch clientele.CompanyPatch
	if err := r.Decode(&patch); err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	c, err := d.Store.UpdateCompany(ctx, r.Principal.PortalID, id, actor(r), func(cur clientele.Company) (clientele.Company, clientele.Changes, error) {
		if err := pre.Check(cur.Version); err != nil {
			return cur, nil, err
		}
		return patch.Apply(cur)
	})
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(200, c), c.Version), nil
}

func (d Deps) deleteCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	notify, err := r.Bool("notify")
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	var deleted func(clientele.User)
	if notify {
		deleted = func(u clientele.User) {
			d.notify(ctx, r, u, "Your client portal access was removed", "An administrator removed your company, and with it your access, from the client portal.")
		}
	}
	if err := d.Store.DeleteCompany(ctx, r.Principal.PortalID, id, actor(r), func(c clientele.Company) error { return pre.Check(c.Version) }, deleted); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}

func (d Deps) companyHistory(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	query := queryKey("company-history", id)
	limit, start, err := listArgs(d, r, query)
	if err != nil {
		return nil, err
	}
	p, err := d.Store.CompanyHistory(ctx, r.Principal.PortalID, id, limit, start)
	if err != nil {
		return nil, err
	}
	return page(d, r, query, p), nil
}

func (d Deps) listCompanyUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	if _, err := d.Store.GetCompany(ctx, r.Principal.PortalID, id); err != nil {
		return nil, err
	}
	return d.userList(ctx, r, dynamo.UserScope{CompanyID: id}, "company-users?"+id)
}

// Group is a company's user group. Every user of the company is in it, now
// and later, so it is a view of the company rather than a second list that
// could drift: its id is the company's, its members are the company's users
// (GET /v1/companies/{id}/users).
type Group struct {
	ID          string    `json:"id"`
	CompanyID   string    `json:"companyId"`
	Name        string    `json:"name"`
	MemberCount int       `json:"memberCount"`
	CreatedAt   time.Time `json:"createdAt"`
}

func (d Deps) companyGroup(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	c, err := d.Store.GetCompany(ctx, r.Principal.PortalID, id)
	if err != nil {
		return nil, err
	}
	if !c.CreateUserGroup {
		return nil, clientele.Errorf(clientele.NotFound, "the company has no user group (it was created without createUserGroup)")
	}
	return httpapi.JSON(200, Group{ID: c.ID, CompanyID: c.ID, Name: c.Name + " users", MemberCount: c.UserCount, CreatedAt: c.CreatedAt}), nil
}
