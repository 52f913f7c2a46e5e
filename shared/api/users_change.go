package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
)

func renderUser(d Deps, r *httpapi.Request, u clientele.User) *httpapi.Response {
	return httpapi.WithETag(httpapi.JSON(200, crmView(r, u.WithInvite(d.Store.Now()))), u.Version)
}

// emptyBody accepts no body or {} on action POSTs.
func emptyBody(r *httpapi.Request) error {
	if strings.TrimSpace(r.Event.Body) == "" {
		return nil
	}
	var none struct{}
	return r.Decode(&none)
}

// setUserStatus serves deactivate and activate: the same read, check,
// transition and write, with the seat taken or given back by the store.
func (d Deps) setUserStatus(transition func(clientele.User) (clientele.User, clientele.Changes), action string) httpapi.HandlerFunc {
	return func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		id, err := pathID(r, "userId", "user")
		if err != nil {
			return nil, err
		}
		if err := emptyBody(r); err != nil {
			return nil, err
		}
		pre, err := r.IfMatch()
		if err != nil {
			return nil, err
		}
		u, err := d.Store.UpdateUser(ctx, r.Principal.PortalID, id, actor(r), func(cur clientele.User) (dynamo.UserChange, error) {
			if err := pre.Check(cur.Version); err != nil {
				return dynamo.UserChange{}, err
			}
			next, ch := transition(cur)
			return dynamo.UserChange{Next: next, Action: action, Changes: ch}, nil
		})
		if err != nil {
			return nil, err
		}
		return renderUser(d, r, u), nil
	}
}

func (d Deps) patchUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "userId", "user")
	if err != nil {
		return nil, err
	}
	var patch clientele.UserPatch
	if err := r.Decode(&patch); err != nil {
		return nil, err
	}
	if err := patch.Validate(); err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	projects, err := d.Store.ReadProjects(ctx, pid, patch.ProjectIDs())
	if err != nil {
		return nil, err
	}
	var changes clientele.Changes
	// A new address of a user who has not accepted gets a new link (the
	// old one dies with the old address); only invited users with portal
	// access are mailed it.
	token, hash := auth.NewPortalToken(pid)
	var portal clientele.Portal
	if patch.Email.Set {
		if portal, err = d.Store.GetPortal(ctx, pid); err != nil {
			return nil, err
		}
	}
	relinked := false
	u, err := d.Store.UpdateUserLink(ctx, pid, id, actor(r), func(cur clientele.User) (dynamo.UserChange, error) {
		if err := pre.Check(cur.Version); err != nil {
			return dynamo.UserChange{}, err
		}
		next, ch, err := patch.Apply(cur, projects)
		changes, relinked = ch, false
		if _, moved := ch["email"]; moved && err == nil && cur.AcceptedAt == nil {
			next.InviteTokenHash = nil
			if next.Status == clientele.Invited && next.PortalAccess {
				now := d.Store.Now()
				next = next.WithInvitation(now, portal.InviteTTL(), hash)
				next.RemindersSent = 0
				ch.Record("lastInvitedAt", cur.LastInvitedAt, now)
				relinked = true
			}
		}
		return dynamo.UserChange{Next: next, Action: clientele.UserUpdated, Changes: ch}, err
	})
	if err != nil {
		return nil, err
	}
	if relinked {
		d.invitations(r).NewAddress(ctx, portal, &u, token)
	}
	if patch.Notify && len(changes) > 0 {
		d.notify(ctx, r, u, "Your client portal access was updated",
			"An administrator updated your details in the client portal: "+strings.Join(changeNames(changes), ", ")+".")
	}
	return renderUser(d, r, u), nil
}

func changeNames(ch clientele.Changes) []string {
	var out []string
	for _, k := range []string{"email", "name", "title", "portalRate", "projects"} {
		if _, ok := ch[k]; ok {
			out = append(out, map[string]string{"email": "email address", "name": "name", "title": "title", "portalRate": "portal rate", "projects": "projects and rates"}[k])
		}
	}
	return out
}

func (d Deps) deleteUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "userId", "user")
	if err != nil {
		return nil, err
	}
	notify, err := r.Bool("notify")
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	u, err := d.Store.DeleteUser(ctx, r.Principal.PortalID, id, actor(r), func(u clientele.User) error { return pre.Check(u.Version) })
	if err != nil {
		return nil, err
	}
	if notify {
		d.notify(ctx, r, u, "Your client portal access was removed", "An administrator removed your access to the client portal.")
	}
	return httpapi.NoContent(), nil
}

// notify mails a user about a change made to them (invite.Notify).
func (d Deps) notify(ctx context.Context, r *httpapi.Request, u clientele.User, subject string, lines ...string) {
	d.invitations(r).Notify(ctx, r.Principal.PortalID, u, subject, lines...)
}

// reinviteUser sends a new invitation link, at most once per 24 hours
// whatever the concurrency (the store's gate). If the email cannot be
// sent, the failure is recorded on the user, the gate reopens, and the
// answer is 503: a later re-invite or reminder can still send.
func (d Deps) reinviteUser(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "userId", "user")
	if err != nil {
		return nil, err
	}
	templateID, err := reinviteTemplateID(r)
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	ac, err := d.Store.ReadAddContextTemplate(ctx, r.Principal.PortalID, templateID)
	if err != nil {
		return nil, err
	}
	u, err := d.invitations(r).Reinvite(ctx, ac, id, actor(r), func(u clientele.User) error { return pre.Check(u.Version) })
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusAccepted, u), u.Version), nil
}

// reinviteTemplateID reads the optional body {templateId?} of a single
// re-invite: "" when absent (the portal's choice).
func reinviteTemplateID(r *httpapi.Request) (string, error) {
	if strings.TrimSpace(r.Event.Body) == "" {
		return "", nil
	}
	var in struct {
		TemplateID *string `json:"templateId"`
	}
	if err := r.Decode(&in); err != nil {
		return "", err
	}
	return checkTemplateID(in.TemplateID)
}

// checkTemplateID checks a chosen template id: "default" or an id.
func checkTemplateID(id *string) (string, error) {
	if id == nil {
		return "", nil
	}
	if *id != clientele.DefaultTemplateID && !clientele.ValidID(*id) {
		return "", clientele.UnknownTemplate("templateId")
	}
	return *id, nil
}
