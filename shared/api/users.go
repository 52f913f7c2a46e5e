package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/feedback"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/mail"
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

// createUsers adds one user per address. Each address is its own
// transaction with its own outcome, so one taken address does not undo the
// others; the answer is 201 when all succeed, 207 when some do, and the
// failures' status when none does.
func (d Deps) createUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.UsersInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	req, err := in.Validate()
	if err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	ac, err := d.Store.ReadAddContext(ctx, pid, req.Template.CompanyID, req.ProjectIDs, req.Template.RoleIDs, in.RatePerHour, in.CostPerHour, req.InvitationTemplateID)
	if err != nil {
		return nil, err
	}
	res := AddResult{Created: []clientele.User{}, Failed: []clientele.Failure{}}
	seen := map[string]bool{}
	var errs []error // of res.Failed, one each
	fail := func(raw string, err error) {
		p := httpapi.Describe(err)
		f := clientele.Failure{Email: raw, Status: p.Status, Type: p.Type, Title: p.Title, Detail: p.Detail}
		f.ExistingUserID, f.UserStatus = clientele.TakenBy(err)
		res.Failed, errs = append(res.Failed, f), append(errs, err)
	}
	for _, raw := range req.Emails {
		email, err := clientele.NormalizeEmail(raw)
		if err != nil {
			fail(raw, clientele.Errorf(clientele.Invalid, "the address %v", err))
			continue
		}
		if seen[clientele.EmailKey(email)] {
			fail(raw, clientele.Errorf(clientele.Invalid, "the address is given twice in this request"))
			continue
		}
		seen[clientele.EmailKey(email)] = true
		u, err := d.addUser(ctx, r, ac, req.Template, email)
		if err != nil {
			fail(raw, err)
			continue
		}
		res.Created = append(res.Created, u)
	}
	switch {
	case len(res.Failed) == 0:
		return httpapi.JSON(http.StatusCreated, res), nil
	case len(res.Created) > 0:
		return httpapi.JSON(http.StatusMultiStatus, res), nil
	}
	return nil, noneAdded(res.Failed, errs)
}

// noneAdded is the answer when no address could be added: the problem of
// the failures (errs, one per failure), listing them all; with one failure,
// its own problem (members and type) with the list.
func noneAdded(failed []clientele.Failure, errs []error) error {
	e := &clientele.Error{Code: clientele.Conflict, Message: "no address could be added: " + failed[0].Detail, Extra: map[string]any{"failed": failed}}
	unavailable := true
	for _, err := range errs {
		code := clientele.ErrorCode(err)
		if code == clientele.Invalid {
			e.Code = clientele.Invalid
		}
		unavailable = unavailable && code == clientele.Unavailable
	}
	if unavailable {
		e.Code, e.RetryAfter = clientele.Unavailable, time.Second
	}
	if len(failed) == 1 {
		e.Message = failed[0].Detail
		if one, ok := errors.AsType[*clientele.Error](errs[0]); ok {
			for k, v := range one.Extra {
				e.Extra[k] = v
			}
			e.Kind = one.Kind
		}
	}
	return e
}

// addUser creates one user of ac.Portal, made by the staff member of r,
// and, with portal access, sends the invitation.
func (d Deps) addUser(ctx context.Context, r *httpapi.Request, ac dynamo.AddContext, tmpl clientele.User, email string) (clientele.User, error) {
	return d.addUserBy(ctx, r, ac, tmpl, email, func(u clientele.User, hash string) error {
		return d.Store.CreateUser(ctx, ac.Portal.ID, u, hash, actor(r))
	})
}

// addUserBy is addUser with the write that creates the user (CreateUser,
// or a sign-up's). A failed send keeps the user (the address is theirs)
// and records why on the invite, where re-invites and reminders pick it up.
func (d Deps) addUserBy(ctx context.Context, r *httpapi.Request, ac dynamo.AddContext, tmpl clientele.User, email string,
	create func(u clientele.User, tokenHash string) error) (clientele.User, error) {
	now := d.Store.Now()
	u := tmpl
	u.ID, u.Email, u.CreatedAt, u.UpdatedAt, u.Version = d.Store.NewID(), email, now, now, 1
	u.Projects = slices.Clone(tmpl.Projects)
	var token, hash string
	if u.PortalAccess {
		token, hash = auth.NewPortalToken(ac.Portal.ID)
		u = u.WithInvitation(now, ac.Portal.InviteTTL(), hash)
	}
	if err := create(u, hash); err != nil {
		return u, err
	}
	if u.PortalAccess {
		if err := d.sendInvitation(ctx, d.baseURL(r), ac, u, token); err != nil {
			msg := d.inviteNotSent(ctx, r, ac.Portal.ID, u, err)
			u.InviteError = &msg
		}
	}
	return u.WithInvite(now), nil
}

// inviteNotSent is the one undo of an invitation whose email failed (sent
// when u.LastInvitedAt says): it records why on user u of portal pid and
// reopens the gate, and returns the message recorded.
func (d Deps) inviteNotSent(ctx context.Context, r *httpapi.Request, pid string, u clientele.User, sendErr error) string {
	msg := "the invitation email could not be sent; re-invite the user"
	d.Log.WarnContext(ctx, "invitation not sent", "request_id", r.ID, "user", u.ID, "error", sendErr)
	if err := d.Store.InviteNotSent(ctx, pid, u.ID, *u.LastInvitedAt, msg); err != nil {
		d.Log.WarnContext(ctx, "invitation failure not recorded", "request_id", r.ID, "user", u.ID, "error", err)
	}
	return msg
}

// sendInvitation mails u the link of token; base is the API's base URL,
// used when the portal has no appBaseUrl of its own.
func (d Deps) sendInvitation(ctx context.Context, base string, ac dynamo.AddContext, u clientele.User, token string) error {
	if d.Mailer == nil {
		return fmt.Errorf("no mailer configured")
	}
	if ac.Portal.AppBaseURL != "" {
		base = ac.Portal.AppBaseURL
	}
	name := ""
	if u.Name != nil {
		name = *u.Name
	}
	msg, err := d.renderInvitation(ctx, ac.Portal, ac.Template, mail.Invitation{UserName: name, Email: u.Email, CompanyName: ac.Company.Name,
		PortalName: ac.Portal.Name, InviteURL: base + "/portal/invite/" + token, ExpiresAt: *u.InviteExpiresAt})
	if err != nil {
		return err
	}
	msg.To = u.Email
	// SES's reports on the message (delivered, bounced) name the user by these.
	if msg.Tags == nil {
		msg.Tags = map[string]string{}
	}
	msg.Tags[feedback.TagPortal], msg.Tags[feedback.TagUser] = ac.Portal.ID, u.ID
	_, err = d.Mailer.Send(ctx, msg)
	return err
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
