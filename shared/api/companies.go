package api

import (
	"context"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/idempotency"
)

// Companies is the router of the companies function.
func Companies(d Deps) *httpapi.Router {
	rt := d.router()
	companies.routes(rt, crud{d.listCompanies, d.createCompany, d.getCompany, d.patchCompany, d.deleteCompany})
	rt.Handle("GET /v1/companies/{companyId}/history", httpapi.Read, d.companyHistory)
	rt.Handle("GET /v1/companies/{companyId}/users", httpapi.Read, d.listCompanyUsers)
	rt.Handle("GET /v1/companies/{companyId}/group", httpapi.Read, d.companyGroup)
	signupLinkRoutes(d, rt)
	return rt
}

var companies = entity[clientele.Company]{path: "/v1/companies", param: "companyId", what: "company",
	key: func(c clientele.Company) (string, int) { return c.ID, c.Version }}

func (d Deps) createCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return create(companies, r, func(in clientele.CompanyInput) (clientele.Company, error) {
		return clientele.NewCompany(in, "", d.Store.NewID(), d.Store.Now())
	}, func(c clientele.Company, rec *idempotency.Record) error {
		_, err := d.Store.CreateCompany(ctx, r.Principal.PortalID, c, actor(r), rec)
		return err
	})
}

func (d Deps) listCompanies(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	q := clientele.NameKey(r.Query("q"))
	return list(d, r, queryKey("companies", q), func(limit int, start map[string]string) (dynamo.Page[clientele.Company], error) {
		return d.Store.ListCompanies(ctx, r.Principal.PortalID, q, limit, start)
	})
}

func (d Deps) getCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return get(companies, r, func(id string) (clientele.Company, error) { return d.Store.GetCompany(ctx, r.Principal.PortalID, id) })
}

func (d Deps) patchCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return patch[clientele.CompanyPatch](companies, r, func(id string, apply func(clientele.Company) (clientele.Company, clientele.Changes, error)) (clientele.Company, error) {
		return d.Store.UpdateCompany(ctx, r.Principal.PortalID, id, actor(r), apply)
	})
}

// deleteCompany deletes a company with its users; with ?notify=true each
// of them is told.
func (d Deps) deleteCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	notify, err := r.Bool("notify")
	if err != nil {
		return nil, err
	}
	var deleted func(clientele.User)
	if notify {
		deleted = func(u clientele.User) {
			d.notify(ctx, r, u, "Your client portal access was removed", "An administrator removed your company, and with it your access, from the client portal.")
		}
	}
	return remove(companies, r, func(id string, check func(clientele.Company) error) error {
		return d.Store.DeleteCompany(ctx, r.Principal.PortalID, id, actor(r), check, deleted)
	})
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
