package api

import (
	"context"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/idempotency"
)

// Projects is the router of the projects function.
func Projects(d Deps) *httpapi.Router {
	rt := d.router()
	projects.routes(rt, crud{d.listProjects, d.createProject, d.getProject, d.patchProject, d.deleteProject})
	rt.Handle("POST /v1/projects/{projectId}/companies", httpapi.Write, d.addProjectCompany)
	rt.Handle("PUT /v1/projects/{projectId}/primary-company", httpapi.Write, d.setPrimaryCompany)
	rt.Handle("DELETE /v1/projects/{projectId}/companies/{companyId}", httpapi.Write, d.removeProjectCompany)
	rt.Handle("GET /v1/projects/{projectId}/users", httpapi.Read, d.listProjectUsers)
	rt.HandleLocked("POST /v1/projects/{projectId}/users", httpapi.Write, d.addProjectUsers)
	rt.Handle("PATCH /v1/projects/{projectId}/users/{userId}", httpapi.Write, d.patchProjectUser)
	rt.Handle("DELETE /v1/projects/{projectId}/users/{userId}", httpapi.Write, d.removeProjectUser)
	permissionRoutes(d, rt)
	return rt
}

var projects = entity[clientele.Project]{path: "/v1/projects", param: "projectId", what: "project",
	key: func(p clientele.Project) (string, int) { return p.ID, p.Version }}

func (d Deps) createProject(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return create(projects, r, func(in clientele.ProjectInput) (clientele.Project, error) {
		return clientele.NewProject(in, d.Store.NewID(), d.Store.Now())
	}, func(p clientele.Project, rec *idempotency.Record) error {
		_, err := d.Store.CreateProject(ctx, r.Principal.PortalID, p, actor(r), rec)
		return err
	})
}

func (d Deps) listProjects(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return list(d, r, queryKey("projects"), func(limit int, start map[string]string) (dynamo.Page[clientele.Project], error) {
		return d.Store.ListProjects(ctx, r.Principal.PortalID, limit, start)
	})
}

func (d Deps) getProject(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return get(projects, r, func(id string) (clientele.Project, error) { return d.Store.GetProject(ctx, r.Principal.PortalID, id) })
}

func (d Deps) patchProject(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return patch[clientele.ProjectPatch](projects, r, func(id string, apply func(clientele.Project) (clientele.Project, clientele.Changes, error)) (clientele.Project, error) {
		return d.Store.UpdateProject(ctx, r.Principal.PortalID, id, apply)
	})
}

func (d Deps) deleteProject(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return remove(projects, r, func(id string, check func(clientele.Project) error) error {
		return d.Store.DeleteProject(ctx, r.Principal.PortalID, id, actor(r), check)
	})
}

// addCompanyInput is the body of POST /v1/projects/{id}/companies.
type addCompanyInput struct {
	CompanyID *string                 `json:"companyId"`
	Company   *clientele.CompanyInput `json:"company"`
	Primary   *bool                   `json:"primary"`
}

// ProjectCompany is the answer to adding a company to a project.
type ProjectCompany struct {
	Project clientele.Project `json:"project"`
	Company clientele.Company `json:"company"`
}

func (d Deps) addProjectCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	prid, err := pathID(r, "projectId", "project")
	if err != nil {
		return nil, err
	}
	var in addCompanyInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	var f clientele.Fields
	var created *clientele.Company
	cid := ""
	switch {
	case (in.CompanyID == nil) == (in.Company == nil):
		f.Add("companyId", "give exactly one of companyId and company")
	case in.CompanyID != nil && !clientele.ValidID(*in.CompanyID):
		f.Add("companyId", "is not a valid id")
	case in.CompanyID != nil:
		cid = *in.CompanyID
	case len(in.Company.ProjectIDs) > 0:
		f.Add("company.projectIds", "is not allowed here: the company joins this project")
	default:
		c, err := clientele.NewCompany(*in.Company, "company.", d.Store.NewID(), d.Store.Now())
		if err != nil {
			return nil, err
		}
		created, cid = &c, c.ID
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	render := func(p clientele.Project, c clientele.Company) *httpapi.Response {
		return httpapi.Created(companies.url(c.ID), p.Version, ProjectCompany{Project: p, Company: c})
	}
	p, c, err := d.Store.AddCompany(ctx, r.Principal.PortalID, prid, cid, created, in.Primary, actor(r),
		func(p clientele.Project, c clientele.Company) *idempotency.Record { return r.Record(render(p, c)) })
	if err != nil {
		return nil, err
	}
	return render(p, c), nil
}

func (d Deps) setPrimaryCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	prid, err := pathID(r, "projectId", "project")
	if err != nil {
		return nil, err
	}
	var in struct {
		CompanyID string `json:"companyId"`
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if !clientele.ValidID(in.CompanyID) {
		return nil, &clientele.Error{Code: clientele.Invalid, Message: "the request has invalid fields",
			Fields: []clientele.FieldError{{Field: "companyId", Message: "is required and must be a company id"}}}
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	p, err := d.Store.SetPrimary(ctx, r.Principal.PortalID, prid, in.CompanyID, actor(r), func(p clientele.Project) error { return pre.Check(p.Version) })
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(200, p), p.Version), nil
}

func (d Deps) removeProjectCompany(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	prid, err := pathID(r, "projectId", "project")
	if err != nil {
		return nil, err
	}
	cid, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	if err := d.Store.RemoveCompany(ctx, r.Principal.PortalID, prid, cid, actor(r), func(p clientele.Project) error { return pre.Check(p.Version) }); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}
