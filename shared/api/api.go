// Package api holds the handlers of Clientele's HTTP API, one router per
// Lambda function. Handlers decode and validate, call a use case (packages
// invite, csvimport, crmimport) or the store, and render; the rules live in package
// clientele and the conditions in package dynamo.
package api

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/invite"
	"github.com/clientele/clientele/shared/pages"
)

// Deps is what every API function's handlers need; built once per process.
// The mailer is an interface that the functions which send mail fill
// (package function/sesmail), so the others do not link SES; what only one
// function uses is its router's own argument (Exports' download links,
// CRM's CRMs).
type Deps struct {
	Store      *dynamo.Store
	Cursors    *httpapi.Cursors
	Answers    *httpapi.Answers // seals the answers kept for Idempotency-Key replays
	Links      *auth.LinkTokens // makes the tokens of company sign-up links
	Clock      clock.Clock
	Log        *slog.Logger
	Mailer     invite.Mailer // nil in functions that send no mail
	APIBaseURL string        // optional; else the host the caller used
	CSRF       *pages.CSRF   // the pages' form tokens
}

// Downloads issues the download links of finished exports (S3: package
// export).
type Downloads interface {
	// URL is a download link of the file at key, named filename, and when
	// it expires.
	URL(ctx context.Context, key, filename string) (string, time.Time, error)
}

// invitations are the invitation use cases as request r runs them: its
// request id in their log, its base URL in their links.
func (d Deps) invitations(r *httpapi.Request) invite.Invitations {
	return invite.Invitations{Store: d.Store, Mailer: d.Mailer, Log: d.Log.With("request_id", r.ID), BaseURL: d.baseURL(r)}
}

// baseURL is the API's public base URL.
func (d Deps) baseURL(r *httpapi.Request) string {
	if d.APIBaseURL != "" {
		return d.APIBaseURL
	}
	return r.BaseURL()
}

func (d Deps) router() *httpapi.Router {
	rt := httpapi.NewRouter(d.Log, d.Store, d.Clock)
	rt.SealAnswers(d.Answers)
	return rt
}

// List is the body of every list response.
type List[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

// page renders a store page with a cursor sealed to the portal and query.
func page[T any](d Deps, r *httpapi.Request, query string, p dynamo.Page[T]) *httpapi.Response {
	out := List[T]{Items: p.Items}
	for i := range out.Items {
		out.Items[i] = crmView(r, out.Items[i])
	}
	if c := d.Cursors.Seal(r.Principal.PortalID, query, p.Next); c != "" {
		out.NextCursor = &c
	}
	return httpapi.JSON(200, out)
}

// listArgs parses limit and cursor for a query.
func listArgs(d Deps, r *httpapi.Request, query string) (int, map[string]string, error) {
	limit, err := r.Limit()
	if err != nil {
		return 0, nil, err
	}
	start, err := d.Cursors.Open(r.Principal.PortalID, query, r.Query("cursor"))
	return limit, start, err
}

// pathID returns a path parameter that must be an id; anything else cannot
// exist, so it is a 404 like any other unknown id.
func pathID(r *httpapi.Request, name, what string) (string, error) {
	id := r.Param(name)
	if !clientele.ValidID(id) {
		return "", clientele.Errorf(clientele.NotFound, "no such %s", what)
	}
	return id, nil
}

// queryKey fingerprints a list query for its cursors.
func queryKey(route string, filters ...string) string {
	return route + "?" + url.PathEscape(strings.Join(filters, "\x00"))
}

func actor(r *httpapi.Request) clientele.Actor { return r.Principal.Actor() }
