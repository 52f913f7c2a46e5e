package api

import (
	"context"
	"mime"
	"net/http"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/csvimport"
	"github.com/clientele/clientele/shared/httpapi"
)

// importUsers imports client users from a CSV file (package csvimport:
// each row its own writes, rows whose address exists skipped, a dry run
// writes nothing).
func (d Deps) importUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	dry, err := r.Bool("dryRun")
	if err != nil {
		return nil, err
	}
	body, err := r.Body()
	if err != nil {
		return nil, err
	}
	if mt, _, err := mime.ParseMediaType(r.Header("Content-Type")); err != nil || mt != "text/csv" {
		return nil, clientele.Errorf(clientele.UnsupportedMedia, "the body must be text/csv")
	}
	res, err := csvimport.Importer{Store: d.Store}.Run(ctx, r.Principal.PortalID, actor(r), body, dry)
	if err != nil {
		return nil, err
	}
	return httpapi.JSON(http.StatusOK, res), nil
}
