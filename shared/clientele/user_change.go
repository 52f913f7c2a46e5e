package clientele

import (
	"fmt"
	"slices"
	"time"
)

// History actions of users.
const (
	UserUpdated            = "user.updated"
	UserDeleted            = "user.deleted"
	UserDeactivated        = "user.deactivated"
	UserActivated          = "user.activated"
	UserProjectAdded       = "user.project_added"
	UserProjectRemoved     = "user.project_removed"
	UserProjectRateChanged = "user.project_rate_changed"
	UserAccepted           = "user.accepted"
	UserInvited            = "user.invited"
	UserReminded           = "user.reminded"
	UserReminderFailed     = "user.reminder_failed"
	UserPasswordReset      = "user.password_reset"
	UserPasswordChanged    = "user.password_changed"
)

// Accept makes an invited user active: the link is used up and the accept
// time recorded. name, when given, sets the user's name.
func (u User) Accept(now time.Time, name *string) (User, error) {
	next := u
	next.Status, next.AcceptedAt, next.InviteTokenHash, next.InviteError = Active, &now, nil, nil
	if name != nil {
		var f Fields
		next.Name = cleanOptionalText("name", name, &f)
		if err := f.Err(); err != nil {
			return u, err
		}
	}
	return next, nil
}

// Deactivate stops the user from signing in and frees their seat; their
// history and memberships stay. Deactivating twice changes nothing.
func (u User) Deactivate() (User, Changes) {
	next, ch := u, Changes{}
	next.Status = Deactivated
	ch.Record("status", u.Status, next.Status)
	return next, ch
}

// Activate brings a deactivated user back: active if they had accepted
// their invitation, else invited again.
func (u User) Activate() (User, Changes) {
	next, ch := u, Changes{}
	if u.Status != Deactivated {
		return u, ch
	}
	next.Status = Invited
	if u.AcceptedAt != nil {
		next.Status = Active
	}
	ch.Record("status", u.Status, next.Status)
	return next, ch
}

// ProjectRate sets a user's rate on one project.
type ProjectRate struct {
	ProjectID   string   `json:"projectId"`
	RatePerHour *float64 `json:"ratePerHour"`
	// CostPerHour is what the user's time costs; absent keeps the current one.
	CostPerHour Optional[float64] `json:"costPerHour"`
}

// UserPatch is the body of PATCH /v1/users/{id}.
type UserPatch struct {
	Name          Optional[string]   `json:"name"`
	Title         Optional[string]   `json:"title"`
	PortalRate    Optional[float64]  `json:"portalRate"`
	ProfileID     Optional[string]   `json:"profileId"`
	RoleIDs       Optional[[]string] `json:"roleIds"`
	ProjectRates  []ProjectRate      `json:"projectRates"`
	AddProjectIDs []string           `json:"addProjectIds"`
	Notify        bool               `json:"notify"`
	// Email changes the user's address (normalised as in POST /v1/users).
	Email Optional[string] `json:"email"`
}

// ProjectIDs lists the projects the patch touches, to read before Apply.
func (p UserPatch) ProjectIDs() []string {
	ids := slices.Clone(p.AddProjectIDs)
	for _, r := range p.ProjectRates {
		ids = append(ids, r.ProjectID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Validate checks the patch on its own.
func (p UserPatch) Validate() error {
	var f Fields
	p.AddProjectIDs = cleanIDs("addProjectIds", p.AddProjectIDs, MaxIDsPerRequest, &f)
	if len(p.ProjectRates) > MaxIDsPerRequest {
		f.Add("projectRates", "must have at most %d items", MaxIDsPerRequest)
	}
	for i, r := range p.ProjectRates {
		if !ValidID(r.ProjectID) {
			f.Add(fmt.Sprintf("projectRates[%d].projectId", i), "is not a valid id")
		}
		CheckRateBounds(fmt.Sprintf("projectRates[%d].", i), r.RatePerHour, r.CostPerHour.Ptr(), &f)
	}
	if p.ProfileID.Set && (p.ProfileID.Null || !ValidProfileID(p.ProfileID.Value)) {
		f.Add("profileId", "must be %q or the id of one of the portal's profiles", BuiltInProfile)
	}
	if p.PortalRate.Set && !p.PortalRate.Null {
		checkRate("portalRate", p.PortalRate.Value, &f)
	}
	if p.RoleIDs.Set && p.RoleIDs.Null {
		f.Add("roleIds", "must not be null (use [] for no roles)")
	}
	if p.Email.Set {
		if p.Email.Null {
			f.Add("email", "must not be null")
		} else if _, err := NormalizeEmail(p.Email.Value); err != nil {
			f.Add("email", "the address %v", err)
		}
	}
	return f.Err()
}

// Apply returns the patched user and what changed. projects holds the
// projects the patch names, as read with the user's company in mind.
func (p UserPatch) Apply(cur User, projects map[string]Project) (User, Changes, error) {
	var f Fields
	next, ch := cur, Changes{}
	next.Projects = slices.Clone(cur.Projects)
	if p.Name.Set {
		next.Name = cleanOptionalText("name", p.Name.Ptr(), &f)
		ch.Record("name", cur.Name, next.Name)
	}
	if p.Title.Set {
		next.Title = cleanOptionalText("title", p.Title.Ptr(), &f)
		ch.Record("title", cur.Title, next.Title)
	}
	if p.PortalRate.Set {
		next.PortalRate = p.PortalRate.Ptr()
		ch.Record("portalRate", cur.PortalRate, next.PortalRate)
	}
	if p.Email.Set && !p.Email.Null {
		if email, err := NormalizeEmail(p.Email.Value); err == nil {
			next.Email = email
			ch.Record("email", cur.Email, next.Email)
			if EmailKey(email) != EmailKey(cur.Email) {
				next.Delivery = nil // SES's reports were about the old address
			}
		}
	}
	if p.ProfileID.Set && !p.ProfileID.Null {
		next.ProfileID = p.ProfileID.Value
		ch.Record("profileId", cur.ProfileID, next.ProfileID)
	}
	for i, id := range p.AddProjectIDs {
		field := fmt.Sprintf("addProjectIds[%d]", i)
		pr, ok := projects[id]
		switch {
		case !ok:
			f.Add(field, "no such project")
		case !pr.HasCompany(cur.CompanyID):
			f.Add(field, "the user's company is not on this project")
		case slices.ContainsFunc(next.Projects, func(up UserProject) bool { return up.ProjectID == id }):
			// already a member: nothing to do
		default:
			next.Projects = append(next.Projects, UserProject{ProjectID: id})
		}
	}
	for i, r := range p.ProjectRates {
		field := fmt.Sprintf("projectRates[%d]", i)
		j := slices.IndexFunc(next.Projects, func(up UserProject) bool { return up.ProjectID == r.ProjectID })
		pr, ok := projects[r.ProjectID]
		switch {
		case j < 0 || !ok:
			f.Add(field+".projectId", "the user is not on this project")
		default:
			n := len(f)
			CheckRateBilling(field+".", pr.Billing, r.RatePerHour, r.CostPerHour.Ptr(), &f)
			if len(f) > n {
				continue
			}
			next.Projects[j].RatePerHour = r.RatePerHour
			if r.CostPerHour.Set {
				next.Projects[j].CostPerHour = r.CostPerHour.Ptr()
			}
		}
	}
	if len(next.Projects) > MaxProjectsPerUser {
		f.Add("addProjectIds", "a user can be on at most %d projects", MaxProjectsPerUser)
	}
	if p.RoleIDs.Set && !p.RoleIDs.Null {
		next.RoleIDs = CheckRoleIDs("roleIds", p.RoleIDs.Value, &f)
		ch.Record("roleIds", cur.RoleIDs, next.RoleIDs)
	}
	ch.Record("projects", cur.Projects, next.Projects)
	return next, ch, f.Err()
}
