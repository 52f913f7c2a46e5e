package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/pages"
)

// Pages is the router of the pages function: the client portal's public
// HTML pages (an invitation link, a company's sign-up link, a password
// reset), served by the API so a portal works before its own front end
// links them in. They call the same services as the JSON endpoints
// (openInvitation, acceptInvitation, signupView, signUp, requestResetCode,
// confirmResetCode): no second copy of the rules. Every
// failure is answered as a page, never as problem+json.
func Pages(d Deps) *httpapi.Router {
	rt := d.router()
	rt.RenderErrors(pages.Error)
	rt.Handle("GET /portal/invite/{token}", httpapi.Public, d.invitePage)
	rt.Handle("POST /portal/invite/{token}", httpapi.Public, d.invitePost)
	rt.Handle("GET /portal/signup/{token}", httpapi.Public, d.signupPage)
	rt.Handle("POST /portal/signup/{token}", httpapi.Public, d.signupPost)
	rt.Handle("GET /portal/reset", httpapi.Public, d.resetPage)
	rt.Handle("POST /portal/reset", httpapi.Public, d.resetPost)
	rt.Handle("GET "+pages.StylePath, httpapi.Public, func(context.Context, *httpapi.Request) (*httpapi.Response, error) {
		return pages.Style(), nil
	})
	return rt
}

const passwordHint = "8 to 128 characters, and not your email address."

// fieldErrors maps an Invalid error's fields to their messages; nil for
// any other error.
func fieldErrors(err error) map[string]string {
	e, ok := errors.AsType[*clientele.Error](err)
	if !ok || e.Code != clientele.Invalid || len(e.Fields) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, f := range e.Fields {
		if _, dup := out[f.Field]; !dup {
			out[f.Field] = f.Message
		}
	}
	return out
}

// form is a page with a form and the CSRF cookie its token needs;
// intro and outro are HTML around it.
func (d Deps) form(r *httpapi.Request, status int, title, intro string, f pages.Form, outro string) *httpapi.Response {
	token, cookie := d.CSRF.Issue(r, r.Event.RawPath)
	f.Action, f.CSRF = r.Event.RawPath, token
	resp := pages.Page(status, title, intro+f.HTML()+outro)
	resp.Cookies = []string{cookie}
	return resp
}

// postedForm reads a page's form and checks its CSRF token, bound to the
// page's path.
func (d Deps) postedForm(r *httpapi.Request, fields ...string) (map[string]string, error) {
	form, err := r.Form(append(fields, "csrf")...)
	if err != nil {
		return nil, err
	}
	if err := d.CSRF.Check(r, r.Event.RawPath, form["csrf"]); err != nil {
		return nil, err
	}
	return form, nil
}

// portalName is how the pages call a portal.
func portalName(p clientele.Portal) string {
	if p.Name != "" {
		return p.Name
	}
	return "the client portal"
}

func (d Deps) invitePage(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	inv, err := d.openInvitation(ctx, r.Param("token"))
	if err != nil {
		return linkPage(err)
	}
	return d.inviteForm(r, inv, http.StatusOK, nil), nil
}

// inviteForm greets the invited person and asks for a password, showing
// the policy before they type.
func (d Deps) inviteForm(r *httpapi.Request, inv dynamo.Invite, status int, errs map[string]string) *httpapi.Response {
	portal := portalName(inv.Portal)
	intro := pages.Heading("Welcome to "+portal) +
		pages.Para("You are invited to "+portal+" as a member of "+inv.Company.Name+".") +
		pages.Para("Your sign-in address is "+inv.User.Email+". Choose a password to accept the invitation.")
	if inv.User.InviteExpiresAt != nil {
		intro += pages.Para("This link works until " + inv.User.InviteExpiresAt.UTC().Format("2 January 2006, 15:04 MST") + ".")
	}
	return d.form(r, status, "Accept your invitation · "+portal, intro, pages.Form{
		Fields: []pages.Field{{Name: "password", Label: "Password", Type: "password", Autocomplete: "new-password",
			Hint: passwordHint, Error: errs["password"], MinLength: auth.MinPassword}},
		Submit: "Accept invitation",
	}, "")
}

// linkPage answers an invitation link that cannot be accepted: unknown or
// used (404), expired (410), of a deactivated user (409). Other errors go
// to the router's error page.
func linkPage(err error) (*httpapi.Response, error) {
	return statePage(err, map[clientele.Code][2]string{
		clientele.NotFound: {"This invitation link does not work", "It is unknown or was already used. If you already set your password, sign in to the portal; otherwise ask your contact to re-invite you."},
		clientele.Gone:     {"This invitation link has expired", "Invitation links work for a limited time. Ask your contact to re-invite you."},
		clientele.Conflict: {"This account is not active", "Your access was turned off. Ask your contact to re-invite you."},
	})
}

// statePage is the page of err when texts has a title and text for its
// code; other errors go to the router's error page.
func statePage(err error, texts map[clientele.Code][2]string) (*httpapi.Response, error) {
	t, ok := texts[clientele.ErrorCode(err)]
	if !ok {
		return nil, err
	}
	return pages.Page(httpapi.Status(err), t[0], pages.Heading(t[0])+pages.Para(t[1])), nil
}

func (d Deps) invitePost(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if _, _, err := inviteToken(r.Param("token")); err != nil {
		return linkPage(err) // as the JSON endpoint: a malformed link is 404 before the body
	}
	form, err := d.postedForm(r, "password")
	if err != nil {
		return nil, err
	}
	a, err := d.acceptInvitation(ctx, r.Param("token"), form["password"], nil, false)
	if errs := fieldErrors(err); errs != nil {
		return d.inviteForm(r, a.Invite, http.StatusBadRequest, errs), nil
	}
	if err != nil {
		return linkPage(err)
	}
	portal := portalName(a.Invite.Portal)
	body := pages.Heading("Your password is set") +
		pages.Para("Welcome to "+portal+". Sign in with "+a.User.Email+" and your new password.")
	if app := a.Invite.Portal.AppBaseURL; app != "" {
		body += pages.Link(app, "Continue to "+portal) // CleanURL made it http(s)
	} else {
		body += pages.Para("You can close this page.")
	}
	return pages.Page(http.StatusOK, "Invitation accepted · "+portal, body), nil
}

// resetFields are the fields of the reset form's two steps.
var resetFields = []string{"step", "portalId", "email", "code", "newPassword"}

func (d Deps) resetPage(_ context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return d.resetRequestForm(r, http.StatusOK, r.Query("portal"), "", nil), nil
}

// resetRequestForm is step 1: the portal (hidden when the link named it,
// as in /portal/reset?portal=demo) and the address.
func (d Deps) resetRequestForm(r *httpapi.Request, status int, portalID, email string, errs map[string]string) *httpapi.Response {
	f := pages.Form{Hidden: [][2]string{{"step", "request"}}, Submit: "Send me a code"}
	if clientele.ValidPortalID(r.Query("portal")) && errs["portalId"] == "" {
		f.Hidden = append(f.Hidden, [2]string{"portalId", portalID})
	} else {
		f.Fields = append(f.Fields, pages.Field{Name: "portalId", Label: "Portal", Type: "text", Value: portalID,
			Autocomplete: "off", Hint: "The portal's id, as in your invitation link.", Error: errs["portalId"]})
	}
	f.Fields = append(f.Fields, pages.Field{Name: "email", Label: "Email address", Type: "email", Value: email,
		Autocomplete: "username", Error: errs["email"]})
	intro := pages.Heading("Reset your password") + pages.Para("Enter the address you sign in with. We will email you a 6-digit code.")
	return d.form(r, status, "Reset your password", intro, f, "")
}

// resetConfirmForm is step 2: the code and the new password. Its page
// says the same whether or not a code was sent.
func (d Deps) resetConfirmForm(r *httpapi.Request, status int, portalID, email string, errs map[string]string) *httpapi.Response {
	intro := pages.Heading("Check your email") +
		pages.Para("If "+email+" has an account, we sent it a 6-digit code. The code works for 10 minutes.")
	again := "/portal/reset?portal=" + url.QueryEscape(portalID)
	f := pages.Form{
		Hidden: [][2]string{{"step", "confirm"}, {"portalId", portalID}, {"email", email}},
		Fields: []pages.Field{
			{Name: "code", Label: "Code", Type: "text", Inputmode: "numeric", Autocomplete: "one-time-code",
				Hint: "The 6 digits from the email.", Error: errs["code"]},
			{Name: "newPassword", Label: "New password", Type: "password", Autocomplete: "new-password",
				Hint: passwordHint, Error: errs["newPassword"], MinLength: auth.MinPassword},
		},
		Submit: "Set new password",
	}
	return d.form(r, status, "Enter your code", intro, f, pages.Para("No code after a few minutes?")+pages.Link(again, "Ask for a new code"))
}

func (d Deps) resetPost(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	form, err := d.postedForm(r, resetFields...)
	if err != nil {
		return nil, err
	}
	in := resetInput{PortalID: form["portalId"], Email: form["email"], Code: form["code"], NewPassword: form["newPassword"]}
	switch form["step"] {
	case "request":
		err := d.requestResetCode(ctx, in)
		if errs := fieldErrors(err); errs != nil {
			return d.resetRequestForm(r, http.StatusBadRequest, in.PortalID, in.Email, errs), nil
		}
		if err != nil {
			return nil, err
		}
		email, _ := clientele.NormalizeEmail(in.Email)
		return d.resetConfirmForm(r, http.StatusOK, in.PortalID, email, nil), nil
	case "confirm":
		err := d.confirmResetCode(ctx, in)
		errs := fieldErrors(err)
		if errs != nil && errs["portalId"] == "" && errs["email"] == "" {
			return d.resetConfirmForm(r, http.StatusBadRequest, in.PortalID, in.Email, errs), nil
		}
		if err != nil {
			return nil, err // the hidden fields were changed: the form's error page
		}
		title := "Your password is changed"
		return pages.Page(http.StatusOK, title, pages.Heading(title)+
			pages.Para("Sign in with your new password. Every session that was signed in with the old one has ended.")), nil
	}
	return nil, clientele.Fields{{Field: "step", Message: "must be request or confirm"}}.Err()
}

func (d Deps) signupPage(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	l, ac, err := d.signupView(ctx, r.Param("token"))
	if err != nil {
		return signupLinkPage(err)
	}
	return d.signupForm(r, l, ac, http.StatusOK, SignupInput{}, nil), nil
}

// signupForm asks for an address (and a name) to join the link's company,
// saying which domains may.
func (d Deps) signupForm(r *httpapi.Request, l dynamo.SignupLink, ac dynamo.AddContext, status int, in SignupInput, errs map[string]string) *httpapi.Response {
	portal := portalName(ac.Portal)
	intro := pages.Heading("Join "+ac.Company.Name+" on "+portal) +
		pages.Para("Enter your work address. We will email you an invitation to "+portal+" as a member of "+ac.Company.Name+".")
	hint := ""
	if len(l.AllowedDomains) > 0 {
		hint = "An address at " + strings.Join(l.AllowedDomains, ", ") + "."
	}
	name := ""
	if in.Name != nil {
		name = *in.Name
	}
	return d.form(r, status, "Sign up · "+portal, intro, pages.Form{
		Fields: []pages.Field{
			{Name: "email", Label: "Email address", Type: "email", Value: in.Email, Autocomplete: "email", Hint: hint, Error: errs["email"]},
			{Name: "name", Label: "Your name (optional)", Type: "text", Value: name, Autocomplete: "name", Error: errs["name"]},
		},
		Submit: "Send me an invitation",
	}, "")
}

// signupLinkPage answers a sign-up link that cannot be used: unknown,
// replaced or disabled (404), expired (410).
func signupLinkPage(err error) (*httpapi.Response, error) {
	return statePage(err, map[clientele.Code][2]string{
		clientele.NotFound: {"This sign-up link does not work", "It is unknown, or it was replaced or turned off. Ask your contact for the current link."},
		clientele.Gone:     {"This sign-up link has expired", "Sign-up links work for a limited time. Ask your contact for a new one."},
	})
}

func (d Deps) signupPost(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if _, ok := auth.PortalOf(r.Param("token")); !ok {
		return signupLinkPage(clientele.SignupLinkUnknown()) // as the JSON endpoint: 404 before the body
	}
	form, err := d.postedForm(r, "email", "name")
	if err != nil {
		return nil, err
	}
	in := SignupInput{Email: form["email"]}
	if n := strings.TrimSpace(form["name"]); n != "" {
		in.Name = &n
	}
	l, ac, err := d.signUp(ctx, r, r.Param("token"), in)
	if errs := fieldErrors(err); errs != nil {
		return d.signupForm(r, l, ac, http.StatusBadRequest, in, errs), nil
	}
	if err != nil {
		return signupLinkPage(err)
	}
	title := "Check your email"
	return pages.Page(http.StatusAccepted, title, pages.Heading(title)+
		pages.Para("If "+strings.TrimSpace(in.Email)+" may join, an invitation is on its way to it. It holds a link to choose your password.")+
		pages.Para("Nothing after a few minutes? Check your spam folder, or ask your contact.")), nil
}
