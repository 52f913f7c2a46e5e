package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/mail"
)

// SessionTTL is how long a client session lasts.
const SessionTTL = 12 * time.Hour

// Client is the router of the client function: invitation links, client
// sessions and the signed-in client's own data. No staff token opens these
// routes and no client token opens staff routes: API Gateway lets these
// through without its JWT authorizer and the handlers accept only client
// sessions.
func Client(d Deps) *httpapi.Router {
	rt := d.router()
	rt.Handle("GET /v1/invites/{token}", httpapi.Public, d.getInvite)
	rt.Handle("POST /v1/invites/{token}/accept", httpapi.Public, d.acceptInvite)
	rt.Handle("POST /v1/portal/login", httpapi.Public, d.login)
	rt.Handle("POST /v1/portal/logout", httpapi.Public, d.logout)
	rt.Handle("POST /v1/portal/password-reset", httpapi.Public, d.requestReset)
	rt.Handle("POST /v1/portal/password-reset/confirm", httpapi.Public, d.confirmReset)
	rt.Handle("GET /v1/me", httpapi.Public, d.getMe)
	rt.Handle("PATCH /v1/me", httpapi.Public, d.patchMe)
	rt.Handle("GET /v1/me/projects", httpapi.Public, d.myProjects)
	rt.Handle("POST /v1/me/password", httpapi.Public, d.changePassword)
	signupRoutes(d, rt)
	return rt
}

// inviteToken reads a link token: its portal and hash.
func inviteToken(token string) (pid, hash string, err error) {
	pid, ok := auth.PortalOf(token)
	if !ok {
		return "", "", clientele.Errorf(clientele.NotFound, "this invitation link is unknown or was already used; ask your contact to re-invite you")
	}
	return pid, auth.HashToken(token), nil
}

// openInvitation follows an invitation link: what it invites to, or
// NotFound (unknown, used or replaced), Gone (expired) or Conflict (the
// user was deactivated). GET /v1/invites/{token} and the invitation page
// both call it.
func (d Deps) openInvitation(ctx context.Context, token string) (dynamo.Invite, error) {
	pid, hash, err := inviteToken(token)
	if err != nil {
		return dynamo.Invite{}, err
	}
	return d.Store.OpenInvite(ctx, pid, hash)
}

// InviteView is what an invitation link shows before it is accepted.
type InviteView struct {
	Email       string    `json:"email"`
	CompanyName string    `json:"companyName"`
	PortalName  string    `json:"portalName"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

func (d Deps) getInvite(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	inv, err := d.openInvitation(ctx, r.Param("token"))
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(200, InviteView{Email: inv.User.Email, CompanyName: inv.Company.Name, PortalName: inv.Portal.Name,
		ExpiresAt: *inv.User.InviteExpiresAt}), nil
}

// SessionView is a new client session.
type SessionView struct {
	Token     string         `json:"token"`
	ExpiresAt time.Time      `json:"expiresAt"`
	User      clientele.User `json:"user"`
}

// accepted is an accepted invitation.
type accepted struct {
	Invite  dynamo.Invite  // what the link invited to (also set when the password is refused)
	User    clientele.User // the user, now active
	Token   string         // the new session's token ("" without a session)
	Session dynamo.Session
}

// acceptInvitation accepts an invitation link with a password (the policy
// of auth.CheckPassword: a refusal is an Invalid error on field
// "password"), and when withSession starts a client session in the same
// transaction. The JSON endpoint and the invitation page both call it; the
// page starts no session, having nowhere to keep it.
func (d Deps) acceptInvitation(ctx context.Context, token, password string, name *string, withSession bool) (accepted, error) {
	var out accepted
	pid, hash, err := inviteToken(token)
	if err != nil {
		return out, err
	}
	if out.Invite, err = d.Store.OpenInvite(ctx, pid, hash); err != nil {
		return out, err
	}
	if why := auth.CheckPassword(password, out.Invite.User.Email); why != "" {
		return out, clientele.Fields{{Field: "password", Message: why}}.Err()
	}
	pwHash, err := auth.HashPassword(password)
	if err != nil {
		return out, err
	}
	sessionHash := ""
	if withSession {
		out.Token, sessionHash = auth.NewPortalToken(pid)
	}
	now := d.Store.Now()
	out.User, out.Session, err = d.Store.AcceptInvite(ctx, pid, out.Invite.User.ID, hash, func(cur clientele.User) (clientele.User, error) {
		return cur.Accept(now, name)
	}, pwHash, sessionHash, SessionTTL)
	if err != nil {
		return out, err
	}
	out.User = out.User.WithInvite(now)
	return out, nil
}

func (d Deps) acceptInvite(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if _, _, err := inviteToken(r.Param("token")); err != nil {
		return nil, err
	}
	var in struct {
		Password string  `json:"password"`
		Name     *string `json:"name"`
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	a, err := d.acceptInvitation(ctx, r.Param("token"), in.Password, in.Name, true)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(200, SessionView{Token: a.Token, ExpiresAt: a.Session.ExpiresAt, User: crmView(r, a.User)}), nil
}

// session authenticates a client by its bearer session token.
func (d Deps) session(ctx context.Context, r *httpapi.Request) (pid, hash string, u clientele.User, err error) {
	pid, hash, u, _, err = d.clientSession(ctx, r)
	return pid, hash, u, err
}

// clientSession is session with the session itself (its credential epoch).
func (d Deps) clientSession(ctx context.Context, r *httpapi.Request) (pid, hash string, u clientele.User, s dynamo.Session, err error) {
	unauthorized := clientele.Errorf(clientele.Unauthorized, "a client session token is required (Authorization: Bearer <token>)")
	scheme, token, _ := strings.Cut(r.Header("Authorization"), " ")
	pid, ok := auth.PortalOf(strings.TrimSpace(token))
	if !strings.EqualFold(scheme, "Bearer") || !ok {
		return "", "", u, s, unauthorized
	}
	hash = auth.HashToken(strings.TrimSpace(token))
	s, err = d.Store.GetSession(ctx, pid, hash)
	if err != nil {
		return "", "", u, s, err
	}
	u, err = d.Store.SessionUser(ctx, pid, s)
	if err != nil {
		return "", "", u, s, err
	}
	if u.Status == clientele.Deactivated {
		return "", "", u, s, unauthorized
	}
	return pid, hash, u, s, nil
}

func (d Deps) logout(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	pid, hash, _, err := d.session(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := d.Store.EndSession(ctx, pid, hash); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}

func (d Deps) getMe(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	_, _, u, err := d.session(ctx, r)
	if err != nil {
		return nil, err
	}
	return renderUser(d, r, u), nil
}

// dummyHash is verified against when an address has no password, so that
// an unknown address takes as long to refuse as a wrong password. Made on
// first use: argon2id at init would slow every cold start. A zero Once,
// not a sync.OnceValue built at package init, so that only the functions
// that sign users in link argon2 (and golang.org/x/sys/cpu's init).
func dummyHash() string {
	dummy.once.Do(func() { dummy.hash, _ = auth.HashPassword("clientele dummy password for timing") })
	return dummy.hash
}

var dummy struct {
	once sync.Once
	hash string
}

// login signs a client user in. A wrong password, an unknown address, a
// user who never set a password and a deactivated user all get the same
// 401; five failures in 15 minutes lock the address (429) whatever follows.
// loginInput is the body of POST /v1/portal/login.
type loginInput struct {
	PortalID string `json:"portalId"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// check validates the body and returns the normalized address.
func (in loginInput) check() (string, error) {
	var f clientele.Fields
	if !clientele.ValidPortalID(in.PortalID) {
		f.Add("portalId", "is required and must be a portal id")
	}
	email, err := clientele.NormalizeEmail(in.Email)
	if err != nil {
		f.Add("email", "%v", err)
	}
	if in.Password == "" || len(in.Password) > 4*auth.MaxPassword {
		f.Add("password", "is required")
	}
	return email, f.Err()
}

// checkLogin checks an address's password through the login lockout: a
// locked address is the Gated error (429 with Retry-After) whatever the
// password; a wrong password, an unknown address, a user without a
// password and a deactivated user are all nil credentials, and count one
// failure toward the lockout. Login and the password change both call it.
func (d Deps) checkLogin(ctx context.Context, pid, emailKey, password string) (*dynamo.Credentials, error) {
	cred, err := d.Store.LoginState(ctx, pid, emailKey)
	if err != nil {
		return nil, err
	}
	hash := dummyHash()
	if cred != nil && cred.PasswordHash != "" {
		hash = cred.PasswordHash
	}
	ok, err := auth.VerifyPassword(password, hash)
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	if !ok || cred == nil || cred.PasswordHash == "" || cred.User.Status == clientele.Deactivated {
		if err := d.Store.LoginFailed(ctx, pid, emailKey); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return cred, nil
}

func (d Deps) login(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in loginInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	email, err := in.check()
	if err != nil {
		return nil, err
	}
	pid, emailKey := in.PortalID, clientele.EmailKey(email)
	cred, err := d.checkLogin(ctx, pid, emailKey, in.Password)
	if err != nil {
		return nil, err
	}
	if cred == nil {
		return nil, clientele.Errorf(clientele.Unauthorized, "the email address or the password is wrong")
	}
	token, sessionHash := auth.NewPortalToken(pid)
	sess, err := d.Store.StartSession(ctx, pid, emailKey, cred.User.ID, cred.Epoch, sessionHash, SessionTTL)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(200, map[string]any{"token": token, "expiresAt": sess.ExpiresAt}), nil
}

// resetInput is what both password reset steps start from.
type resetInput struct {
	PortalID    string `json:"portalId"`
	Email       string `json:"email"`
	Code        string `json:"code"`
	NewPassword string `json:"newPassword"`
}

func (in resetInput) check(confirm bool) (pid, email string, err error) {
	var f clientele.Fields
	if !clientele.ValidPortalID(in.PortalID) {
		f.Add("portalId", "is required and must be a portal id")
	}
	email, e := clientele.NormalizeEmail(in.Email)
	if e != nil {
		f.Add("email", "%v", e)
	}
	if confirm && (len(in.Code) != 6 || strings.Trim(in.Code, "0123456789") != "") {
		f.Add("code", "must be the 6 digits from the email")
	}
	if !confirm && (in.Code != "" || in.NewPassword != "") {
		f.Add("code", "comes with the confirmation, not the request")
	}
	if confirm {
		if why := auth.CheckPassword(in.NewPassword, email); why != "" {
			f.Add("newPassword", "%s", why)
		}
	}
	return in.PortalID, email, f.Err()
}

// requestReset mails a 6-digit code to a client user who has a password.
// It answers 202 whatever the address, so it tells nobody who has an
// account; nothing is logged that names the address.
func (d Deps) requestReset(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in resetInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if err := d.requestResetCode(ctx, in); err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusAccepted, map[string]string{"status": "if the address has an account, a code is on its way"}), nil
}

// requestResetCode checks a reset request and mails a code when the
// address belongs to a user with a password who is not deactivated or
// locked out. Only a bad request or a failure before the address is
// looked at is an error: an address without a code looks the same as one
// with, and a failed email is logged, not answered. The JSON endpoint and
// the reset page both call it.
func (d Deps) requestResetCode(ctx context.Context, in resetInput) error {
	pid, email, err := in.check(false)
	if err != nil {
		return err
	}
	// The portal is read for every address, known or not, so that a
	// failure here says nothing about the address.
	portal, err := d.Store.GetPortal(ctx, pid)
	if err != nil {
		return err
	}
	emailKey := clientele.EmailKey(email)
	cred, err := d.Store.LoginState(ctx, pid, emailKey)
	if clientele.ErrorCode(err) == clientele.Gated {
		return nil // locked: no code either, and no difference to see
	}
	if err != nil {
		return err
	}
	if cred == nil || cred.PasswordHash == "" || cred.User.Status == clientele.Deactivated {
		return nil
	}
	code := auth.NewCode()
	if err := d.Store.SaveResetCode(ctx, pid, emailKey, cred.User.ID, auth.HashCode(pid, emailKey, code)); err != nil {
		return err
	}
	if d.Mailer != nil {
		msg := mail.RenderNotice(mail.Notice{PortalName: portal.Name, Subject: "Your password reset code",
			Lines: []string{"Your code is " + code + ". It is valid for 10 minutes.", "If you did not ask to reset your password, ignore this email."}})
		msg.To = cred.User.Email
		if _, err := d.Mailer.Send(ctx, msg); err != nil {
			// Still no error: a failure only for known addresses would
			// tell which exist. The person asks again when no code arrives.
			reqID := ""
			if r, ok := httpapi.FromContext(ctx); ok {
				reqID = r.ID
			}
			d.Log.WarnContext(ctx, "reset code not sent", "request_id", reqID, "user", cred.User.ID, "error", err)
		}
	}
	return nil
}

// confirmReset sets a new password with the emailed code; every session of
// the user ends.
func (d Deps) confirmReset(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in resetInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if err := d.confirmResetCode(ctx, in); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}

// confirmResetCode checks the code of a reset and sets the new password:
// a wrong, expired, burned or unknown code is the same Invalid error on
// field "code" whoever the address. The JSON endpoint and the reset page
// both call it.
func (d Deps) confirmResetCode(ctx context.Context, in resetInput) error {
	pid, email, err := in.check(true)
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(in.NewPassword)
	if err != nil {
		return err
	}
	emailKey := clientele.EmailKey(email)
	return d.Store.ResetPassword(ctx, pid, emailKey, auth.HashCode(pid, emailKey, in.Code), hash)
}

// changePassword sets the signed-in user's new password (the policy of
// auth.CheckPassword, as at accept and reset) once their current one is
// checked through the login lockout: a wrong current password is 401, as a
// wrong login is, and counts toward the lockout of the address; a locked
// address is 429 with Retry-After. A new session is answered and every
// other session of the user ends, the one used for the call included: the
// credential epoch moves on, as at a password reset.
func (d Deps) changePassword(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	pid, _, me, sess, err := d.clientSession(ctx, r)
	if err != nil {
		return nil, err
	}
	var f clientele.Fields
	if in.CurrentPassword == "" || len(in.CurrentPassword) > 4*auth.MaxPassword {
		f.Add("currentPassword", "is required")
	}
	if why := auth.CheckPassword(in.NewPassword, me.Email); why != "" {
		f.Add("newPassword", "%s", why)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	emailKey := clientele.EmailKey(me.Email)
	cred, err := d.checkLogin(ctx, pid, emailKey, in.CurrentPassword)
	if err != nil {
		return nil, err
	}
	if cred == nil {
		return nil, clientele.Errorf(clientele.Unauthorized, "the current password is wrong")
	}
	// The address moved to another user, or the password changed since
	// the session was read: this session has ended.
	if cred.User.ID != me.ID || cred.Epoch != sess.Epoch {
		return nil, clientele.Errorf(clientele.Unauthorized, "the session token is unknown, expired or signed out")
	}
	hash, err := auth.HashPassword(in.NewPassword)
	if err != nil {
		return nil, err
	}
	token, sessionHash := auth.NewPortalToken(pid)
	next, err := d.Store.ChangePassword(ctx, pid, emailKey, me.ID, sess.Epoch, hash, sessionHash, SessionTTL)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(200, map[string]any{"token": token, "expiresAt": next.ExpiresAt}), nil
}

func (d Deps) patchMe(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var patch clientele.MePatch
	if err := r.Decode(&patch); err != nil {
		return nil, err
	}
	pid, _, me, err := d.session(ctx, r)
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	u, err := d.Store.UpdateUser(ctx, pid, me.ID, clientele.Actor{Type: "client", ID: me.ID}, func(cur clientele.User) (dynamo.UserChange, error) {
		if err := pre.Check(cur.Version); err != nil {
			return dynamo.UserChange{}, err
		}
		next, ch, err := patch.Apply(cur)
		return dynamo.UserChange{Next: next, Action: clientele.UserUpdated, Changes: ch}, err
	})
	if err != nil {
		return nil, err
	}
	return renderUser(d, r, u), nil
}

// MyProject is a project as its client user sees it.
type MyProject struct {
	ProjectID   string                `json:"projectId"`
	Name        string                `json:"name"`
	RatePerHour *float64              `json:"ratePerHour"`
	Permissions clientele.Permissions `json:"permissions"` // effective
	// CustomizedPermissions: set for this user in this project, not the profile's.
	CustomizedPermissions bool `json:"customizedPermissions"`
}

// myProjects lists the signed-in user's projects with what they may do in
// each: their customization there, or else their profile's permissions.
func (d Deps) myProjects(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	pid, _, me, err := d.session(ctx, r)
	if err != nil {
		return nil, err
	}
	// The projects and, if needed, the profile: one request.
	projects, base, err := d.Store.UserProjects(ctx, pid, me)
	if err != nil {
		return nil, err
	}
	out := List[MyProject]{Items: []MyProject{}}
	for _, up := range me.Projects {
		p, ok := projects[up.ProjectID]
		if !ok {
			continue
		}
		out.Items = append(out.Items, MyProject{ProjectID: p.ID, Name: p.Name, RatePerHour: up.RatePerHour,
			Permissions: clientele.Effective(base, up), CustomizedPermissions: up.Permissions != nil})
	}
	return httpapi.JSON(200, out), nil
}
