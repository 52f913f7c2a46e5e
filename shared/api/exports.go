package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
)

// Exports is the router of the exports function. Exports and imports are
// for owners and admins only (every route is Write access, GETs included):
// a download holds every client user's personal data.
func Exports(deps Deps, downloads Downloads) *httpapi.Router {
	d := exportsAPI{Deps: deps, downloads: downloads}
	rt := d.router()
	rt.Handle("POST /v1/exports", httpapi.Write, d.createExport)
	rt.Handle("GET /v1/exports", httpapi.Write, d.listExports)
	rt.Handle("GET /v1/exports/{exportId}", httpapi.Write, d.getExport)
	rt.HandleLocked("POST /v1/imports", httpapi.Write, d.importUsers)
	return rt
}

// exportsAPI is the exports function's handlers: the API's dependencies and
// the download links that only this function issues.
type exportsAPI struct {
	Deps
	downloads Downloads
}

func exportURL(id string) string { return "/v1/exports/" + id }

// createExport records a pending job and answers 202 at once; the job's
// INSERT on the table's stream starts the export worker.
func (d exportsAPI) createExport(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.ExportInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	if len(in.ProjectIDs) > 0 {
		found, err := d.Store.ReadProjects(ctx, pid, in.ProjectIDs)
		if err != nil {
			return nil, err
		}
		var f clientele.Fields
		clientele.Unknown(&f, "projectIds", "project", in.ProjectIDs, found)
		if err := f.Err(); err != nil {
			return nil, err
		}
	}
	now := d.Store.Now()
	e := clientele.Export{ID: d.Store.NewID(), PortalID: pid, Scope: in.Scope, ProjectIDs: in.ProjectIDs,
		Status: clientele.ExportPending, CreatedAt: now, UpdatedAt: now}
	ext := ".csv"
	e.FileName = "client-users-" + now.Format("2006-01-02") + ext
	if in.Scope == clientele.ScopeProject {
		ext = ".zip"
		e.FileName = "client-users-by-project-" + now.Format("2006-01-02") + ext
	}
	e.ObjectKey = "exports/" + randomHex(16) + ext
	resp := httpapi.JSON(http.StatusAccepted, map[string]string{"id": e.ID, "status": e.Status})
	resp.Headers["Location"] = exportURL(e.ID)
	if err := d.Store.CreateExport(ctx, e, r.Record(resp)); err != nil {
		return nil, err
	}
	return resp, nil
}

// randomHex is n random bytes in hex: object keys that carry no sequence
// and no personal data.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return hex.EncodeToString(b)
}

func (d exportsAPI) getExport(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := pathID(r, "exportId", "export")
	if err != nil {
		return nil, err
	}
	e, err := d.Store.GetExport(ctx, r.Principal.PortalID, id)
	if err != nil {
		return nil, err
	}
	if e, err = d.withLink(ctx, e.AsOf(d.Store.Now())); err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, e), nil
}

// withLink adds a freshly presigned download link to a ready job.
func (d exportsAPI) withLink(ctx context.Context, e clientele.Export) (clientele.Export, error) {
	if e.Status != clientele.ExportReady {
		return e, nil
	}
	url, exp, err := d.downloads.URL(ctx, e.ObjectKey, e.FileName)
	if err != nil {
		return e, clientele.Wrap(clientele.Unavailable, err, "the download link could not be issued; retry shortly")
	}
	e.DownloadURL, e.DownloadExpiresAt = &url, &exp
	return e, nil
}

// listExports lists the portal's jobs, newest first, without links (each
// link is issued by GET /v1/exports/{exportId}).
func (d exportsAPI) listExports(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	query := queryKey("exports")
	limit, start, err := listArgs(d.Deps, r, query)
	if err != nil {
		return nil, err
	}
	p, err := d.Store.ListExports(ctx, r.Principal.PortalID, limit, start)
	if err != nil {
		return nil, err
	}
	now := d.Store.Now()
	for i := range p.Items {
		p.Items[i] = p.Items[i].AsOf(now)
	}
	return page(d.Deps, r, query, p), nil
}
