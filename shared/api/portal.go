package api

import (
	"context"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
)

// Portal is the router of the portal function.
func Portal(d Deps) *httpapi.Router {
	rt := d.router()
	rt.Handle("GET /v1/portal", httpapi.Read, d.getPortal)
	rt.Handle("PATCH /v1/portal", httpapi.Write, d.patchPortal)
	templateRoutes(d, rt)
	return rt
}

func (d Deps) renderPortal(r *httpapi.Request, p clientele.Portal) *httpapi.Response {
	if p.AppBaseURL == "" {
		p.AppBaseURL = d.baseURL(r)
	}
	return httpapi.WithETag(httpapi.JSON(200, p), p.Version)
}

func (d Deps) getPortal(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	p, err := d.Store.GetPortal(ctx, r.Principal.PortalID)
	if err != nil {
		return nil, err
	}
	return d.renderPortal(r, p), nil
}

func (d Deps) patchPortal(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var patch clientele.PortalPatch
	if err := r.Decode(&patch); err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	p, err := d.Store.UpdatePortal(ctx, r.Principal.PortalID, func(cur clientele.Portal) (clientele.Portal, clientele.Changes, error) {
		if err := pre.Check(cur.Version); err != nil {
			return cur, nil, err
		}
		return patch.Apply(cur)
	})
	if err != nil {
		return nil, err
	}
	return d.renderPortal(r, p), nil
}
