package api

import (
	"context"
	"net/http"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/idempotency"
)

// signupLinkRoutes are the staff routes of a company's sign-up link (the
// companies function).
func signupLinkRoutes(d Deps, rt *httpapi.Router) {
	rt.Handle("POST /v1/companies/{companyId}/signup-link", httpapi.Write, d.createSignupLink)
	rt.Handle("GET /v1/companies/{companyId}/signup-link", httpapi.Write, d.getSignupLink)
	rt.Handle("DELETE /v1/companies/{companyId}/signup-link", httpapi.Write, d.deleteSignupLink)
}

// signupRoutes are the public routes of a sign-up link (the client
// function).
func signupRoutes(d Deps, rt *httpapi.Router) {
	rt.Handle("GET /v1/signup/{token}", httpapi.Public, d.getSignup)
	rt.Handle("POST /v1/signup/{token}", httpapi.Public, d.postSignup)
}

func signupLinkURL(cid string) string { return companies.url(cid) + "/signup-link" }

// signupLinkView is l as staff see it: with its url, derived again from
// the nonce, unless the key changed since it was made (then the token
// derived no longer matches the stored hash, and url is null).
func (d Deps) signupLinkView(r *httpapi.Request, p clientele.Portal, l dynamo.SignupLink) clientele.SignupLink {
	v := l.SignupLink
	if token, hash := d.Links.Token(l.PortalID, l.CompanyID, l.Nonce); hash == l.TokenHash {
		base := d.baseURL(r)
		if p.AppBaseURL != "" {
			base = p.AppBaseURL // as the invitation links
		}
		u := base + "/portal/signup/" + token
		v.URL = &u
	}
	return v
}

// createSignupLink makes the company's sign-up link, replacing the one it
// had (whose token stops in the same transaction).
func (d Deps) createSignupLink(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	cid, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	var in clientele.SignupLinkInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	link, err := clientele.NewSignupLink(in, d.Store.NewID(), cid, d.Store.Now(), actor(r))
	if err != nil {
		return nil, err
	}
	l := dynamo.SignupLink{SignupLink: link, PortalID: pid, Nonce: auth.NewNonce()}
	_, l.TokenHash = d.Links.Token(pid, cid, l.Nonce)
	var resp *httpapi.Response
	err = d.Store.PutSignupLink(ctx, pid, l, func(p clientele.Portal, l dynamo.SignupLink) *idempotency.Record {
		resp = httpapi.Created(signupLinkURL(cid), l.Version, d.signupLinkView(r, p, l))
		return r.Record(resp)
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (d Deps) getSignupLink(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	cid, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	l, p, err := d.Store.GetSignupLink(ctx, r.Principal.PortalID, cid)
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(http.StatusOK, d.signupLinkView(r, p, l)), l.Version), nil
}

func (d Deps) deleteSignupLink(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	cid, err := pathID(r, "companyId", "company")
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	if err := d.Store.DeleteSignupLink(ctx, r.Principal.PortalID, cid, func(l dynamo.SignupLink) error { return pre.Check(l.Version) }); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}

// openSignup follows a sign-up link: the link, or NotFound (malformed,
// unknown, replaced or disabled) or Gone (expired). The JSON routes and the
// sign-up page both call it.
func (d Deps) openSignup(ctx context.Context, token string) (dynamo.SignupLink, error) {
	pid, ok := auth.PortalOf(token)
	if !ok {
		return dynamo.SignupLink{}, clientele.SignupLinkUnknown()
	}
	l, err := d.Store.OpenSignupLink(ctx, pid, auth.HashToken(token))
	if err != nil {
		return l, err
	}
	if l.Expired(d.Store.Now()) {
		return l, clientele.Errorf(clientele.Gone, "this sign-up link has expired; ask your contact for a new one")
	}
	return l, nil
}

// SignupView is what a sign-up link shows before anyone signs up.
type SignupView struct {
	PortalName     string   `json:"portalName"`
	CompanyName    string   `json:"companyName"`
	AllowedDomains []string `json:"allowedDomains"`
}

// signupView is the link of token with its portal and company.
func (d Deps) signupView(ctx context.Context, token string) (dynamo.SignupLink, dynamo.AddContext, error) {
	l, err := d.openSignup(ctx, token)
	if err != nil {
		return l, dynamo.AddContext{}, err
	}
	ac, err := d.Store.ReadAddContext(ctx, l.PortalID, l.CompanyID, nil, nil, nil, nil, "")
	if clientele.ErrorCode(err) == clientele.Invalid {
		// The company is being deleted, and its link with it.
		err = clientele.SignupLinkUnknown()
	}
	return l, ac, err
}

func (d Deps) getSignup(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	l, ac, err := d.signupView(ctx, r.Param("token"))
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, SignupView{PortalName: ac.Portal.Name, CompanyName: ac.Company.Name, AllowedDomains: l.AllowedDomains}), nil
}

// SignupInput is the body of POST /v1/signup/{token}.
type SignupInput struct {
	Email string  `json:"email"`
	Name  *string `json:"name"`
}

// signUp asks to join the company of a sign-up link. Once the link is open
// and the request valid, the outcome does not depend on the address: an
// allowed address that is no user yet becomes an invited user of the
// company through the path of POST /v1/users (seats, uniqueness, template,
// history with the link as actor) and gets the invitation; any other gets
// nothing, and the caller learns nothing either way. Only the link's hourly
// limit (429) and a database that cannot answer (503) are told.
func (d Deps) signUp(ctx context.Context, r *httpapi.Request, token string, in SignupInput) (dynamo.SignupLink, dynamo.AddContext, error) {
	l, ac, err := d.signupView(ctx, token)
	if err != nil {
		return l, ac, err
	}
	email, err := clientele.NormalizeEmail(in.Email)
	if err != nil {
		return l, ac, clientele.Fields{{Field: "email", Message: err.Error()}}.Err()
	}
	req, err := clientele.UsersInput{Emails: clientele.EmailList{email}, CompanyID: l.CompanyID, Name: in.Name}.Validate()
	if err != nil {
		return l, ac, err
	}
	// A full link says so to every address alike.
	if now := d.Store.Now(); l.Full(now) {
		return l, ac, clientele.SignupRateLimited(now)
	}
	if !l.Allows(email) {
		d.Log.InfoContext(ctx, "sign-up refused: domain not allowed", "request_id", r.ID, "link", l.ID)
		return l, ac, nil
	}
	_, err = d.invitations(r).Add(ctx, ac, req.Template, email, func(u clientele.User, hash string) error {
		return d.Store.SignUp(ctx, l, u, hash)
	})
	if err != nil {
		switch clientele.ErrorCode(err) {
		case clientele.Gated, clientele.NotFound, clientele.Unavailable, clientele.Internal:
			return l, ac, err // the link's state or ours, never the address's
		}
		d.Log.InfoContext(ctx, "sign-up made no user", "request_id", r.ID, "link", l.ID, "error", err)
	}
	return l, ac, nil
}

func (d Deps) postSignup(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if _, ok := auth.PortalOf(r.Param("token")); !ok {
		return nil, clientele.SignupLinkUnknown()
	}
	var in SignupInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if _, _, err := d.signUp(ctx, r, r.Param("token"), in); err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusAccepted, map[string]string{
		"message": "If this address may join, an invitation is on its way to it.",
	}), nil
}
