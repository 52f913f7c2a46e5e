package api

import (
	"context"
	"net/http"
	"slices"
	"time"

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
	for _, uid := range in.UserIDs {
		var u clientele.User
		var err error = clientele.Errorf(clientele.Invalid, "the id is given twice in this request")
		if !seen[uid] {
			seen[uid] = true
			u, err = d.joinProject(ctx, r, p, uid, in.RatePerHour, in.CostPerHour)
		}
		if err != nil {
			p := httpapi.Describe(err)
			res.Failed = append(res.Failed, FailedUser{UserID: uid, Status: p.Status, Type: p.Type, Title: p.Title, Detail: p.Detail})
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
	e := &clientele.Error{Code: clientele.NotFound, Message: "no user could be added: " + res.Failed[0].Detail, Extra: map[string]any{"failed": res.Failed}}
	unavailable := true
	for _, fu := range res.Failed {
		switch {
		case fu.Status == 400:
			e.Code = clientele.Invalid
		case fu.Status != 404 && e.Code != clientele.Invalid:
			e.Code = clientele.Conflict
		}
		unavailable = unavailable && fu.Status == 503
	}
	if unavailable {
		// The database was down for every user: the whole request may be retried.
		e.Code, e.RetryAfter = clientele.Unavailable, time.Second
	}
	return nil, e
}

// joinProject adds one user to project p.
func (d Deps) joinProject(ctx context.Context, r *httpapi.Request, p clientele.Project, uid string, rate, cost *float64) (clientele.User, error) {
	if !clientele.ValidID(uid) {
		return clientele.User{}, clientele.Errorf(clientele.NotFound, "no such user")
	}
	return d.Store.UpdateUser(ctx, r.Principal.PortalID, uid, actor(r), func(cur clientele.User) (dynamo.UserChange, error) {
		switch {
		case !p.HasCompany(cur.CompanyID):
			return dynamo.UserChange{}, clientele.Errorf(clientele.Conflict, "the user's company is not on this project")
		case slices.ContainsFunc(cur.Projects, func(up clientele.UserProject) bool { return up.ProjectID == p.ID }):
			return dynamo.UserChange{}, clientele.Errorf(clientele.Conflict, "the user is already on this project")
		case len(cur.Projects) >= clientele.MaxProjectsPerUser:
			return dynamo.UserChange{}, clientele.Errorf(clientele.Conflict, "a user can be on at most %d projects", clientele.MaxProjectsPerUser)
		}
		next := cur
		next.Projects = append(slices.Clone(cur.Projects), clientele.UserProject{ProjectID: p.ID, RatePerHour: rate, CostPerHour: cost})
		ch := clientele.Changes{"projectId": {To: p.ID}, "ratePerHour": {To: rate}}
		if cost != nil {
			ch["costPerHour"] = clientele.Change{To: cost}
		}
		return dynamo.UserChange{Next: next, Action: clientele.UserProjectAdded, Changes: ch}, nil
	})
}

// memberChange changes a user's membership of the project in the path.
func (d Deps) memberChange(ctx context.Context, r *httpapi.Request, change func(p clientele.Project, cur clientele.User, i int) (dynamo.UserChange, error)) (clientele.User, error) {
	prid, err := pathID(r, "projectId", "project")
	if err != nil {
		return clientele.User{}, err
	}
	uid, err := pathID(r, "userId", "user")
	if err != nil {
		return clientele.User{}, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return clientele.User{}, err
	}
	p, err := d.Store.GetProject(ctx, r.Principal.PortalID, prid)
	if err != nil {
		return clientele.User{}, err
	}
	return d.Store.UpdateUser(ctx, r.Principal.PortalID, uid, actor(r), func(cur clientele.User) (dynamo.UserChange, error) {
		if err := pre.Check(cur.Version); err != nil {
			return dynamo.UserChange{}, err
		}
		i := slices.IndexFunc(cur.Projects, func(up clientele.UserProject) bool { return up.ProjectID == prid })
		if i < 0 {
			return dynamo.UserChange{}, clientele.Errorf(clientele.NotFound, "the user is not on this project")
		}
		return change(p, cur, i)
	})
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
	rate, cost := in.RatePerHour.Ptr(), in.CostPerHour.Ptr()
	var f clientele.Fields
	clientele.CheckRateBounds("", rate, cost, &f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	u, err := d.memberChange(ctx, r, func(p clientele.Project, cur clientele.User, i int) (dynamo.UserChange, error) {
		var f clientele.Fields
		clientele.CheckRateBilling("", p.Billing, rate, cost, &f)
		if err := f.Err(); err != nil {
			return dynamo.UserChange{}, err
		}
		next := cur
		next.Projects = slices.Clone(cur.Projects)
		ch := clientele.Changes{}
		if in.RatePerHour.Set {
			next.Projects[i].RatePerHour = rate
			ch.Record("ratePerHour", cur.Projects[i].RatePerHour, rate)
		}
		if in.CostPerHour.Set {
			next.Projects[i].CostPerHour = cost
			ch.Record("costPerHour", cur.Projects[i].CostPerHour, cost)
		}
		if len(ch) > 0 {
			ch["projectId"] = clientele.Change{From: p.ID, To: p.ID}
		}
		return dynamo.UserChange{Next: next, Action: clientele.UserProjectRateChanged, Changes: ch}, nil
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
	var project clientele.Project
	u, err := d.memberChange(ctx, r, func(p clientele.Project, cur clientele.User, i int) (dynamo.UserChange, error) {
		project = p
		next := cur
		next.Projects = slices.Delete(slices.Clone(cur.Projects), i, i+1)
		return dynamo.UserChange{Next: next, Action: clientele.UserProjectRemoved, Changes: clientele.Changes{"projectId": {From: p.ID}}}, nil
	})
	if err != nil {
		return nil, err
	}
	if notify {
		d.notify(ctx, r, u, "You were removed from a project", "An administrator removed you from the project "+project.Name+".")
	}
	return httpapi.NoContent(), nil
}
