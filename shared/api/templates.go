package api

import (
	"context"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/idempotency"
)

// The invitation template routes (served by the portal function: they are
// portal settings).
func templateRoutes(d Deps, rt *httpapi.Router) {
	templates.routes(rt, crud{d.listTemplates, d.createTemplate, d.getTemplate, d.patchTemplate, d.deleteTemplate})
}

var templates = entity[clientele.InvitationTemplate]{path: "/v1/invitation-templates", param: "templateId", what: "invitation template",
	key:     func(t clientele.InvitationTemplate) (string, int) { return t.ID, t.Version },
	builtIn: clientele.DefaultTemplateID,
	fixed:   clientele.Errorf(clientele.Conflict, "the built-in invitation template cannot be changed or deleted; create your own and choose it with PATCH /v1/portal")}

func (d Deps) createTemplate(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return create(templates, r, func(in clientele.TemplateInput) (clientele.InvitationTemplate, error) {
		return clientele.NewTemplate(in, d.Store.NewID(), d.Store.Now())
	}, func(t clientele.InvitationTemplate, rec *idempotency.Record) error {
		return d.Store.CreateTemplate(ctx, r.Principal.PortalID, t, rec)
	})
}

func (d Deps) listTemplates(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return listLed(d, r, queryKey("invitation-templates"), clientele.BuiltInTemplate(), func(limit int, start map[string]string) (dynamo.Page[clientele.InvitationTemplate], error) {
		return d.Store.ListTemplates(ctx, r.Principal.PortalID, limit, start)
	})
}

func (d Deps) getTemplate(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return get(templates, r, func(id string) (clientele.InvitationTemplate, error) {
		if id == clientele.DefaultTemplateID {
			return clientele.BuiltInTemplate(), nil
		}
		return d.Store.GetTemplate(ctx, r.Principal.PortalID, id)
	})
}

func (d Deps) patchTemplate(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return patch[clientele.TemplatePatch](templates, r, func(id string, apply func(clientele.InvitationTemplate) (clientele.InvitationTemplate, bool, error)) (clientele.InvitationTemplate, error) {
		return d.Store.UpdateTemplate(ctx, r.Principal.PortalID, id, apply)
	})
}

func (d Deps) deleteTemplate(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	return remove(templates, r, func(id string, check func(clientele.InvitationTemplate) error) error {
		return d.Store.DeleteTemplate(ctx, r.Principal.PortalID, id, check)
	})
}
