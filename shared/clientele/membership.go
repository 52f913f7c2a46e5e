package clientele

import "slices"

// The rules of a user's project memberships, one place for the routes of
// /v1/projects/{projectId}/users.

// JoinProject is u added to project p at the given rate and cost: u's
// company must be on p, u not on it yet, and on fewer than
// MaxProjectsPerUser projects.
func (u User) JoinProject(p Project, rate, cost *float64) (User, Changes, error) {
	switch {
	case !p.HasCompany(u.CompanyID):
		return u, nil, Errorf(Conflict, "the user's company is not on this project")
	case u.projectIndex(p.ID) >= 0:
		return u, nil, Errorf(Conflict, "the user is already on this project")
	case len(u.Projects) >= MaxProjectsPerUser:
		return u, nil, Errorf(Conflict, "a user can be on at most %d projects", MaxProjectsPerUser)
	}
	next := u
	next.Projects = append(slices.Clone(u.Projects), UserProject{ProjectID: p.ID, RatePerHour: rate, CostPerHour: cost})
	ch := Changes{"projectId": {To: p.ID}, "ratePerHour": {To: rate}}
	if cost != nil {
		ch["costPerHour"] = Change{To: cost}
	}
	return next, ch, nil
}

// LeaveProject is u taken off project p.
func (u User) LeaveProject(p Project) (User, Changes, error) {
	i := u.projectIndex(p.ID)
	if i < 0 {
		return u, nil, notOnProject()
	}
	next := u
	next.Projects = slices.Delete(slices.Clone(u.Projects), i, i+1)
	return next, Changes{"projectId": {From: p.ID}}, nil
}

// SetProjectRates is u with its rate and cost on project p changed where
// given (null clears); both apply only where p bills staff hours.
func (u User) SetProjectRates(p Project, rate, cost Optional[float64]) (User, Changes, error) {
	i := u.projectIndex(p.ID)
	if i < 0 {
		return u, nil, notOnProject()
	}
	r, c := rate.Ptr(), cost.Ptr()
	var f Fields
	CheckRateBilling("", p.Billing, r, c, &f)
	if err := f.Err(); err != nil {
		return u, nil, err
	}
	next := u
	next.Projects = slices.Clone(u.Projects)
	ch := Changes{}
	if rate.Set {
		next.Projects[i].RatePerHour = r
		ch.Record("ratePerHour", u.Projects[i].RatePerHour, r)
	}
	if cost.Set {
		next.Projects[i].CostPerHour = c
		ch.Record("costPerHour", u.Projects[i].CostPerHour, c)
	}
	if len(ch) > 0 {
		ch["projectId"] = Change{From: p.ID, To: p.ID}
	}
	return next, ch, nil
}

func (u User) projectIndex(prid string) int {
	return slices.IndexFunc(u.Projects, func(up UserProject) bool { return up.ProjectID == prid })
}

func notOnProject() error { return Errorf(NotFound, "the user is not on this project") }
