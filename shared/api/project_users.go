package api

import (
	"context"
	"net/http"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
)

func (d Deps) listProjectUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "projectId", "project")
	if err != nil {
		return nil, err
	}
	if _, err := d.Store.GetProject(ctx, r.Principal.PortalID, id); err != nil {
		return nil, err
	}
	return d.userList(ctx, r, dynamo.UserScope{ProjectID: id}, "project-users?"+id)
}

// FailedUser is the outcome of one user that could not be added.
type FailedUser struct {
	UserID string `json:"userId"`
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// ProjectUsersResult is the answer to POST /v1/projects/{id}/users.
type ProjectUsersResult struct {
	Added  []clientele.User `json:"added"`
	Failed []FailedUser     `json:"failed"`
}

func (d Deps) addProjectUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	prid, err := pathID(r, "projectId", "project")
	if err != nil {
		return nil, err
	}
	var in struct {
		UserIDs     []string `json:"userIds"`
		RatePerHour *float64 `json:"ratePerHour"`
		CostPerHour *float64 `json:"costPerHour"`
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	var f clientele.Fields
	switch {
	case len(in.UserIDs) == 0:
		f.Add("userIds", "is required")
	case len(in.UserIDs) > clientele.MaxEmailsPerAdd:
		f.Add("userIds", "must have at most %d ids", clientele.MaxEmailsPerAdd)
	}
	clientele.CheckRateBounds("", in.RatePerHour, in.CostPerHour, &f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	p, err := d.Store.GetProject(ctx, pid, prid)
	if err != nil {
		return nil, err
	}
	clientele.CheckRateBilling("", p.Billing, in.RatePerHour, in.CostPerHour, &f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	res := ProjectUsersResult{Added: []clientele.User{}, Failed: []FailedUser{}}
	seen := map[string]bool{}
	var errs []error // of res.Failed, one each
	for _, uid := range in.UserIDs {
		var u clientele.User
		var err error = clientele.Errorf(clientele.Invalid, "the id is given twice in this request")
		if !seen[uid] {
			seen[uid] = true
			u, err = d.joinProject(ctx, r, p, uid, in.RatePerHour, in.CostPerHour)
		}
		if err != nil {
			p := httpapi.Describe(err)
			res.Failed, errs = append(res.Failed, FailedUser{UserID: uid, Status: p.Status, Type: p.Type, Title: p.Title, Detail: p.Detail}), append(errs, err)
			continue
		}
		res.Added = append(res.Added, u.WithInvite(d.Store.Now()))
	}
	switch {
	case len(res.Failed) == 0:
		return httpapi.JSON(http.StatusCreated, res), nil
	case len(res.Added) > 0:
		return httpapi.JSON(http.StatusMultiStatus, res), nil
	}
	return nil, noneDone("user", clientele.NotFound, errs, res.Failed)
}

// joinProject adds one user to project p.
func (d Deps) joinProject(ctx context.Context, r *httpapi.Request, p clientele.Project, uid string, rate, cost *float64) (clientele.User, error) {
	if !clientele.ValidID(uid) {
		return clientele.User{}, clientele.Errorf(clientele.NotFound, "no such user")
	}
	return d.Store.UpdateUser(ctx, r.Principal.PortalID, uid, actor(r), func(cur clientele.User) (dynamo.UserChange, error) {
		next, ch, err := cur.JoinProject(p, rate, cost)
		return dynamo.UserChange{Next: next, Action: clientele.UserProjectAdded, Changes: ch}, err
	})
}

// memberChange changes a user's membership of the project in the path.
func (d Deps) memberChange(ctx context.Context, r *httpapi.Request, action string,
	change func(cur clientele.User, p clientele.Project) (clientele.User, clientele.Changes, error)) (clientele.User, clientele.Project, error) {
	prid, err := pathID(r, "projectId", "project")
	if err != nil {
		return clientele.User{}, clientele.Project{}, err
	}
	uid, err := pathID(r, "userId", "user")
	if err != nil {
		return clientele.User{}, clientele.Project{}, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return clientele.User{}, clientele.Project{}, err
	}
	p, err := d.Store.GetProject(ctx, r.Principal.PortalID, prid)
	if err != nil {
		return clientele.User{}, p, err
	}
	u, err := d.Store.UpdateUser(ctx, r.Principal.PortalID, uid, actor(r), func(cur clientele.User) (dynamo.UserChange, error) {
		if err := pre.Check(cur.Version); err != nil {
			return dynamo.UserChange{}, err
		}
		next, ch, err := change(cur, p)
		return dynamo.UserChange{Next: next, Action: action, Changes: ch}, err
	})
	return u, p, err
}

func (d Deps) patchProjectUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in struct {
		RatePerHour clientele.Optional[float64] `json:"ratePerHour"`
		CostPerHour clientele.Optional[float64] `json:"costPerHour"`
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if !in.RatePerHour.Set && !in.CostPerHour.Set {
		return nil, clientele.Fields{{Field: "ratePerHour", Message: "ratePerHour or costPerHour is required (a number, or null for none)"}}.Err()
	}
	var f clientele.Fields
	clientele.CheckRateBounds("", in.RatePerHour.Ptr(), in.CostPerHour.Ptr(), &f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	u, _, err := d.memberChange(ctx, r, clientele.UserProjectRateChanged, func(cur clientele.User, p clientele.Project) (clientele.User, clientele.Changes, error) {
		return cur.SetProjectRates(p, in.RatePerHour, in.CostPerHour)
	})
	if err != nil {
		return nil, err
	}
	return renderUser(d, r, u), nil
}

func (d Deps) removeProjectUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	notify, err := r.Bool("notify")
	if err != nil {
		return nil, err
	}
	u, project, err := d.memberChange(ctx, r, clientele.UserProjectRemoved, clientele.User.LeaveProject)
	if err != nil {
		return nil, err
	}
	if notify {
		d.notify(ctx, r, u, "You were removed from a project", "An administrator removed you from the project "+project.Name+".")
	}
	return httpapi.NoContent(), nil
}
