package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/idempotency"
)

// The profile routes (served by the users function: profiles are given to
// users, and their counts change with user writes).
func profileRoutes(d Deps, rt *httpapi.Router) {
	profiles.routes(rt, crud{d.listProfiles, d.createProfile, d.getProfile, d.patchProfile, d.deleteProfile})
}

// The per-user, per-project permission routes (served by the projects
// function, beside the project's members).
func permissionRoutes(d Deps, rt *httpapi.Router) {
	rt.Handle("GET /v1/projects/{projectId}/users/{userId}/permissions", httpapi.Read, d.getPermissions)
	rt.Handle("PUT /v1/projects/{projectId}/users/{userId}/permissions", httpapi.Write, d.putPermissions)
	rt.Handle("DELETE /v1/projects/{projectId}/users/{userId}/permissions", httpapi.Write, d.deletePermissions)
	rt.HandleLocked("POST /v1/projects/{projectId}/users/{userId}/permissions/clone", httpapi.Write, d.clonePermissions)
}

var profiles = entity[clientele.Profile]{path: "/v1/profiles", param: "profileId", what: "profile",
	key:     func(p clientele.Profile) (string, int) { return p.ID, p.Version },
	builtIn: clientele.BuiltInProfile,
	fixed:   clientele.Errorf(clientele.Conflict, "the built-in client profile cannot be changed or deleted; create a profile of your own")}

func (d Deps) createProfile(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return create(profiles, r, func(in clientele.ProfileInput) (clientele.Profile, error) {
		return clientele.NewProfile(in, d.Store.NewID(), d.Store.Now())
	}, func(p clientele.Profile, rec *idempotency.Record) error {
		return d.Store.CreateProfile(ctx, r.Principal.PortalID, p, rec)
	})
}

func (d Deps) listProfiles(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return listLed(d, r, queryKey("profiles"), clientele.BuiltInClientProfile(), func(limit int, start map[string]string) (dynamo.Page[clientele.Profile], error) {
		return d.Store.ListProfiles(ctx, r.Principal.PortalID, limit, start)
	})
}

func (d Deps) getProfile(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return get(profiles, r, func(id string) (clientele.Profile, error) { return d.Store.GetProfile(ctx, r.Principal.PortalID, id) })
}

func (d Deps) patchProfile(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return patch[clientele.ProfilePatch](profiles, r, func(id string, apply func(clientele.Profile) (clientele.Profile, bool, error)) (clientele.Profile, error) {
		return d.Store.UpdateProfile(ctx, r.Principal.PortalID, id, apply)
	})
}

func (d Deps) deleteProfile(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return remove(profiles, r, func(id string, check func(clientele.Profile) error) error {
		return d.Store.DeleteProfile(ctx, r.Principal.PortalID, id, check)
	})
}

// UserPermissions is a user's permissions in a project: the effective set,
// the profile's, and the customization as a difference from it.
type UserPermissions struct {
	UserID             string                `json:"userId"`
	ProjectID          string                `json:"projectId"`
	ProfileID          string                `json:"profileId"`
	Customized         bool                  `json:"customized"`
	Permissions        clientele.Permissions `json:"permissions"`
	ProfilePermissions clientele.Permissions `json:"profilePermissions"`
	RoleIDs            []string              `json:"roleIds"`
	// BasePermissions is the profile's set united with the roles': what
	// the user may do without a customization, and what added and
	// removed are measured from.
	BasePermissions clientele.Permissions `json:"basePermissions"`
	Added           clientele.Permissions `json:"added"`
	Removed         clientele.Permissions `json:"removed"`
}

func userPermissions(u clientele.User, prid string, profile, base clientele.Permissions) UserPermissions {
	out := UserPermissions{UserID: u.ID, ProjectID: prid, ProfileID: u.ProfileID, RoleIDs: u.RoleIDs,
		ProfilePermissions: profile, BasePermissions: base, Permissions: base}
	for _, up := range u.Projects {
		if up.ProjectID == prid && up.Permissions != nil {
			out.Customized, out.Permissions = true, up.Permissions
		}
	}
	out.Added, out.Removed = clientele.Diff(base, out.Permissions)
	return out
}

// memberIDs reads the project and user ids of a permissions path.
func memberIDs(r *httpapi.Request) (prid, uid string, err error) {
	if prid, err = pathID(r, "projectId", "project"); err != nil {
		return "", "", err
	}
	uid, err = pathID(r, "userId", "user")
	return prid, uid, err
}

func onProject(u clientele.User, prid string) bool {
	for _, up := range u.Projects {
		if up.ProjectID == prid {
			return true
		}
	}
	return false
}

func (d Deps) getPermissions(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	prid, uid, err := memberIDs(r)
	if err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	u, err := d.Store.GetUser(ctx, pid, uid)
	if err != nil {
		return nil, err
	}
	if !onProject(u, prid) {
		return nil, dynamo.ErrNotMember
	}
	profile, base, err := d.Store.BasePermissions(ctx, pid, u)
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(200, userPermissions(u, prid, profile, base)), u.Version), nil
}

// setPermissions customizes (perms non-nil) or resets a user's permissions.
func (d Deps) setPermissions(ctx context.Context, r *httpapi.Request, perms clientele.Permissions) (*httpapi.Response, error) {
	prid, uid, err := memberIDs(r)
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	var profile, base clientele.Permissions
	u, err := d.Store.SetPermissions(ctx, pid, prid, uid, perms, func(u clientele.User) (clientele.Permissions, error) {
		var err error
		profile, base, err = d.Store.BasePermissions(ctx, pid, u)
		return base, err
	}, actor(r), func(u clientele.User) error { return pre.Check(u.Version) })
	if err != nil {
		return nil, err
	}
	if base == nil { // nothing changed: the base was not needed
		if profile, base, err = d.Store.BasePermissions(ctx, pid, u); err != nil {
			return nil, err
		}
	}
	return httpapi.WithETag(httpapi.JSON(200, userPermissions(u, prid, profile, base)), u.Version), nil
}

func (d Deps) putPermissions(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in struct {
		Permissions clientele.Permissions `json:"permissions"`
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	var f clientele.Fields
	if in.Permissions == nil {
		f.Add("permissions", "is required (an object of module: [actions]; {} allows nothing)")
	}
	perms := in.Permissions.Check("permissions", &f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return d.setPermissions(ctx, r, perms)
}

func (d Deps) deletePermissions(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return d.setPermissions(ctx, r, nil)
}

// CloneOutcome is one target's result of a permissions clone.
type CloneOutcome struct {
	UserID  string `json:"userId"`
	Outcome string `json:"outcome"` // cloned, unchanged, not_found, not_member, failed
	Detail  string `json:"detail,omitempty"`
}

// clonePermissions copies a user's customization in a project to other
// members of it: each target in its own transaction (all or nothing per
// target), each with its own outcome; targets not on the project, or of
// another portal, are reported and never touched.
func (d Deps) clonePermissions(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	prid, uid, err := memberIDs(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		TargetUserIDs []string `json:"targetUserIds"`
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	var f clientele.Fields
	switch {
	case len(in.TargetUserIDs) == 0:
		f.Add("targetUserIds", "is required")
	case len(in.TargetUserIDs) > clientele.MaxEmailsPerAdd:
		f.Add("targetUserIds", "must have at most %d ids", clientele.MaxEmailsPerAdd)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	src, err := d.Store.GetUser(ctx, pid, uid)
	if err != nil {
		return nil, err
	}
	var perms clientele.Permissions
	member := false
	for _, up := range src.Projects {
		if up.ProjectID == prid {
			member, perms = true, up.Permissions
		}
	}
	switch {
	case !member:
		return nil, dynamo.ErrNotMember
	case perms == nil:
		return nil, clientele.Errorf(clientele.Conflict, "the user has no customized permissions in this project to clone")
	}
	bases := map[string]clientele.Permissions{} // by profile and roles
	out := struct {
		Results []CloneOutcome `json:"results"`
	}{Results: []CloneOutcome{}}
	seen := map[string]bool{uid: true}
	unavailable := 0
	for _, t := range in.TargetUserIDs {
		res := CloneOutcome{UserID: t, Outcome: "cloned"}
		switch {
		case !clientele.ValidID(t):
			res.Outcome, res.Detail = "not_found", "no such user"
		case seen[t]:
			res.Outcome, res.Detail = "unchanged", "the source, or given twice"
		default:
			seen[t] = true
			before := -1
			u, err := d.Store.SetPermissions(ctx, pid, prid, t, perms, func(u clientele.User) (clientele.Permissions, error) {
				before = u.Version
				k := u.ProfileID + "/" + strings.Join(u.RoleIDs, ",")
				if b, ok := bases[k]; ok {
					return b, nil
				}
				_, b, err := d.Store.BasePermissions(ctx, pid, u)
				bases[k] = b
				return b, err
			}, actor(r), func(clientele.User) error { return nil })
			switch code := clientele.ErrorCode(err); {
			case err == nil && u.Version == before:
				res.Outcome = "unchanged"
			case err == nil:
			case errors.Is(err, dynamo.ErrNotMember):
				res.Outcome, res.Detail = "not_member", "the user is not on this project; nothing was changed"
			case code == clientele.NotFound:
				res.Outcome, res.Detail = "not_found", "no such user"
			default:
				res.Outcome, res.Detail = "failed", httpapi.Describe(err).Detail
				if code == clientele.Unavailable {
					unavailable++
				}
			}
		}
		out.Results = append(out.Results, res)
	}
	if unavailable == len(out.Results) {
		// Nothing was changed: the whole request may be retried.
		return nil, &clientele.Error{Code: clientele.Unavailable, RetryAfter: time.Second,
			Message: "the database is unavailable; no target was changed, retry shortly"}
	}
	return httpapi.JSON(http.StatusOK, out), nil
}
