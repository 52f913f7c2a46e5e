package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/crmimport"
	"github.com/clientele/clientele/shared/httpapi"
)

// CRMImportResult is the answer to POST /v1/crm/imports: one outcome per
// contact.
type CRMImportResult struct {
	Created []clientele.User     `json:"created"`
	Skipped []crmimport.Existing `json:"skipped"`
	Failed  []CRMFailed          `json:"failed"`
}

// CRMFailed is a contact that could not be imported, as its problem.
type CRMFailed struct {
	CRMID  string `json:"crmId"`
	Status int    `json:"status"`
	Type   string `json:"type"`
	Detail string `json:"detail"`
}

// imports are the CRM use cases as request r runs them: its invitations,
// the portal's CRM opened only when the use case asks.
func (d crmAPI) imports(r *httpapi.Request) crmimport.Imports {
	return crmimport.Imports{Store: d.Store, Invitations: d.invitations(r), Connect: d.connector}
}

// importContacts imports CRM contacts as client users (crmimport.Imports.Contacts).
func (d crmAPI) importContacts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.CRMImportInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	res, err := d.imports(r).Contacts(ctx, r.Principal.PortalID, in, actor(r))
	if err != nil {
		return nil, err
	}
	// Empty lists render as [], not null.
	out := CRMImportResult{Created: []clientele.User{}, Skipped: append([]crmimport.Existing{}, res.Skipped...), Failed: []CRMFailed{}}
	for _, u := range res.Created {
		out.Created = append(out.Created, crmView(r, u))
	}
	for _, f := range res.Failed {
		p := httpapi.Describe(f.Err)
		out.Failed = append(out.Failed, CRMFailed{CRMID: f.CRMID, Status: p.Status, Type: p.Type, Detail: p.Detail})
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// convertDeal turns a CRM deal into a project (crmimport.Imports.ConvertDeal).
func (d crmAPI) convertDeal(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	// A path id that cannot be a CRM id cannot exist: 404 whatever the body.
	dealID := r.Param("dealId")
	if !clientele.ValidCRMID(dealID) {
		return nil, clientele.Errorf(clientele.NotFound, "no such deal in the CRM")
	}
	var in clientele.DealConversionInput
	if err := decodeOptional(r, &in); err != nil {
		return nil, err
	}
	c, err := d.imports(r).ConvertDeal(ctx, r.Principal.PortalID, dealID, in, actor(r))
	if err != nil {
		return nil, err
	}
	return httpapi.Created(projects.url(c.Project.ID), c.Project.Version, c), nil
}

// decodeOptional decodes a body that may be absent (all defaults).
func decodeOptional(r *httpapi.Request, v any) error {
	if strings.TrimSpace(r.Event.Body) == "" {
		return nil
	}
	return r.Decode(v)
}
