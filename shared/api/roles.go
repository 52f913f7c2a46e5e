package api

import (
	"context"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/idempotency"
)

// roleRoutes are the client roles' routes (served by the users function,
// beside the profiles).
func roleRoutes(d Deps, rt *httpapi.Router) {
	roles.routes(rt, crud{d.listRoles, d.createRole, d.getRole, d.patchRole, d.deleteRole})
}

var roles = entity[clientele.Role]{path: "/v1/roles", param: "roleId", what: "role",
	key: func(role clientele.Role) (string, int) { return role.ID, role.Version }}

func (d Deps) createRole(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return create(roles, r, func(in clientele.RoleInput) (clientele.Role, error) {
		return clientele.NewRole(in, d.Store.NewID(), d.Store.Now())
	}, func(role clientele.Role, rec *idempotency.Record) error {
		return d.Store.CreateRole(ctx, r.Principal.PortalID, role, rec)
	})
}

func (d Deps) listRoles(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return list(d, r, queryKey("roles"), func(limit int, start map[string]string) (dynamo.Page[clientele.Role], error) {
		return d.Store.ListRoles(ctx, r.Principal.PortalID, limit, start)
	})
}

func (d Deps) getRole(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return get(roles, r, func(id string) (clientele.Role, error) { return d.Store.GetRole(ctx, r.Principal.PortalID, id) })
}

func (d Deps) patchRole(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return patch[clientele.RolePatch](roles, r, func(id string, apply func(clientele.Role) (clientele.Role, bool, error)) (clientele.Role, error) {
		return d.Store.UpdateRole(ctx, r.Principal.PortalID, id, apply)
	})
}

func (d Deps) deleteRole(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return remove(roles, r, func(id string, check func(clientele.Role) error) error {
		return d.Store.DeleteRole(ctx, r.Principal.PortalID, id, check)
	})
}
