package api

import (
	"context"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
)

// roleRoutes are the client roles' routes (served by the users function,
// beside the profiles).
func roleRoutes(d Deps, rt *httpapi.Router) {
	rt.Handle("GET /v1/roles", httpapi.Read, d.listRoles)
	rt.Handle("POST /v1/roles", httpapi.Write, d.createRole)
	rt.Handle("GET /v1/roles/{roleId}", httpapi.Read, d.getRole)
	rt.Handle("PATCH /v1/roles/{roleId}", httpapi.Write, d.patchRole)
	rt.Handle("DELETE /v1/roles/{roleId}", httpapi.Write, d.deleteRole)
}

func roleURL(id string) string { return "/v1/roles/" + id }

func (d Deps) createRole(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.RoleInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	role, err := clientele.NewRole(in, d.Store.NewID(), d.Store.Now())
	if err != nil {
		return nil, err
	}
	resp := httpapi.Created(roleURL(role.ID), role.Version, role)
	if err := d.Store.CreateRole(ctx, r.Principal.PortalID, role, r.Record(resp)); err != nil {
		return nil, err
	}
	return resp, nil
}

func (d Deps) listRoles(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	query := queryKey("roles")
	limit, start, err := listArgs(d, r, query)
	if err != nil {
		return nil, err
	}
	p, err := d.Store.ListRoles(ctx, r.Principal.PortalID, limit, start)
	if err != nil {
		return nil, err
	}
	return page(d, r, query, p), nil
}

func (d Deps) getRole(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "roleId", "role")
	if err != nil {
		return nil, err
	}
	role, err := d.Store.GetRole(ctx, r.Principal.PortalID, id)
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(200, role), role.Version), nil
}

func (d Deps) patchRole(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "roleId", "role")
	if err != nil {
		return nil, err
	}
	var patch clientele.RolePatch
	if err := r.Decode(&patch); err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	role, err := d.Store.UpdateRole(ctx, r.Principal.PortalID, id, func(cur clientele.Role) (clientele.Role, bool, error) {
		if err := pre.Check(cur.Version); err != nil {
			return cur, false, err
		}
		return patch.Apply(cur)
	})
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(200, role), role.Version), nil
}

func (d Deps) deleteRole(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "roleId", "role")
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	if err := d.Store.DeleteRole(ctx, r.Principal.PortalID, id, func(role clientele.Role) error { return pre.Check(role.Version) }); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}
