package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/invite"
)

// Users is the router of the users function.
func Users(d Deps) *httpapi.Router {
	rt := d.router()
	rt.HandleLocked("POST /v1/users", httpapi.Write, d.createUsers)
	rt.Handle("GET /v1/users", httpapi.Read, d.listUsers)
	rt.Handle("GET /v1/users/{userId}", httpapi.Read, d.getUser)
	rt.Handle("GET /v1/users/{userId}/history", httpapi.Read, d.userHistory)
	rt.Handle("PATCH /v1/users/{userId}", httpapi.Write, d.patchUser)
	rt.Handle("DELETE /v1/users/{userId}", httpapi.Write, d.deleteUser)
	rt.HandleLocked("POST /v1/users/{userId}/deactivate", httpapi.Write, d.setUserStatus(clientele.User.Deactivate, clientele.UserDeactivated))
	rt.HandleLocked("POST /v1/users/{userId}/activate", httpapi.Write, d.setUserStatus(clientele.User.Activate, clientele.UserActivated))
	rt.HandleLocked("POST /v1/users/{userId}/reinvite", httpapi.Write, d.reinviteUser)
	rt.HandleLocked("POST /v1/users/reinvite", httpapi.Write, d.reinviteUsers)
	profileRoutes(d, rt)
	roleRoutes(d, rt)
	return rt
}

// AddResult is the answer to POST /v1/users.
type AddResult struct {
	Created []clientele.User    `json:"created"`
	Failed  []clientele.Failure `json:"failed"`
}

// createUsers adds one user per address (invite.AddAll): 201 when all
// succeed, 207 when some do, and the failures' status when none does.
func (d Deps) createUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.UsersInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	req, err := in.Validate()
	if err != nil {
		return nil, err
	}
	ac, err := d.Store.ReadAddContext(ctx, r.Principal.PortalID, req.Template.CompanyID, req.ProjectIDs, req.Template.RoleIDs, in.RatePerHour, in.CostPerHour, req.InvitationTemplateID)
	if err != nil {
		return nil, err
	}
	added := d.invitations(r).AddAll(ctx, ac, req, actor(r))
	res := AddResult{Created: added.Created, Failed: make([]clientele.Failure, len(added.Failed))}
	for i, f := range added.Failed {
		res.Failed[i] = failure(f.Email, f.Err)
	}
	switch {
	case len(res.Failed) == 0:
		return httpapi.JSON(http.StatusCreated, res), nil
	case len(res.Created) > 0:
		return httpapi.JSON(http.StatusMultiStatus, res), nil
	}
	return nil, noneAdded(added.Failed, res.Failed)
}

// failure is the bulk answer's item of an address that failed with err:
// its problem, and who holds it when it is taken.
func failure(email string, err error) clientele.Failure {
	p := httpapi.Describe(err)
	f := clientele.Failure{Email: email, Status: p.Status, Type: p.Type, Title: p.Title, Detail: p.Detail}
	if taken, ok := errors.AsType[clientele.EmailTaken](err); ok {
		f.ExistingUserID, f.UserStatus = taken.UserID, taken.Status
	}
	return f
}

// noneAdded is the answer when no address could be added (noneDone);
// with one failure, its own problem (members and type) with the list.
func noneAdded(failed []invite.Failed, rendered []clientele.Failure) error {
	errs := make([]error, len(failed))
	for i, f := range failed {
		errs[i] = f.Err
	}
	e := noneDone("address", clientele.Conflict, errs, rendered)
	if len(failed) == 1 {
		e.Message = rendered[0].Detail
		if one, ok := errors.AsType[*clientele.Error](failed[0].Err); ok {
			for k, v := range one.Extra {
				e.Extra[k] = v
			}
			e.Kind = one.Kind
		}
	}
	return e
}

func (d Deps) getUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "userId", "user")
	if err != nil {
		return nil, err
	}
	u, err := d.Store.GetUser(ctx, r.Principal.PortalID, id)
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(200, crmView(r, u.WithInvite(d.Store.Now()))), u.Version), nil
}

func (d Deps) listUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var scope dynamo.UserScope
	var f clientele.Fields
	for name, dst := range map[string]*string{"companyId": &scope.CompanyID, "projectId": &scope.ProjectID, "roleId": &scope.RoleID} {
		if v := r.Query(name); v != "" {
			if !clientele.ValidID(v) {
				f.Add(name, "is not a valid id")
			}
			*dst = v
		}
	}
	if scope.CompanyID != "" && scope.ProjectID != "" {
		f.Add("projectId", "give at most one of companyId and projectId")
	}
	if scope.RoleID != "" && (scope.CompanyID != "" || scope.ProjectID != "" || r.Query("q") != "") {
		f.Add("roleId", "lists a role's holders among all users: give it without companyId, projectId or q")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return d.userList(ctx, r, scope, "users?"+scope.CompanyID+"&"+scope.ProjectID+"&"+scope.RoleID)
}

// userList answers a list of users of a scope, filtered by ?status= and
// ?q= (address prefix); one Query per page.
func (d Deps) userList(ctx context.Context, r *httpapi.Request, scope dynamo.UserScope, route string) (*httpapi.Response, error) {
	status := r.Query("status")
	switch status {
	case "", clientele.Invited, clientele.Active, clientele.Deactivated:
	default:
		return nil, clientele.Fields{{Field: "status", Message: "must be invited, active or deactivated"}}.Err()
	}
	q := clientele.NameKey(r.Query("q"))
	query := queryKey(route, status, q)
	limit, start, err := listArgs(d, r, query)
	if err != nil {
		return nil, err
	}
	p, err := d.Store.ListUsers(ctx, r.Principal.PortalID, scope, status, q, limit, start)
	if err != nil {
		return nil, err
	}
	now := d.Store.Now()
	for i := range p.Items {
		p.Items[i] = p.Items[i].WithInvite(now)
	}
	return page(d, r, query, p), nil
}

func (d Deps) userHistory(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "userId", "user")
	if err != nil {
		return nil, err
	}
	query := queryKey("user-history", id)
	limit, start, err := listArgs(d, r, query)
	if err != nil {
		return nil, err
	}
	p, err := d.Store.UserHistory(ctx, r.Principal.PortalID, id, limit, start)
	if err != nil {
		return nil, err
	}
	return page(d, r, query, p), nil
}
