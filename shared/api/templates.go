package api

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/mail"
)

// The invitation template routes (served by the portal function: they are
// portal settings).
func templateRoutes(d Deps, rt *httpapi.Router) {
	rt.Handle("GET /v1/invitation-templates", httpapi.Read, d.listTemplates)
	rt.Handle("POST /v1/invitation-templates", httpapi.Write, d.createTemplate)
	rt.Handle("GET /v1/invitation-templates/{templateId}", httpapi.Read, d.getTemplate)
	rt.Handle("PATCH /v1/invitation-templates/{templateId}", httpapi.Write, d.patchTemplate)
	rt.Handle("DELETE /v1/invitation-templates/{templateId}", httpapi.Write, d.deleteTemplate)
}

// builtInTemplate is the built-in template as the API shows it.
func builtInTemplate() clientele.InvitationTemplate {
	return clientele.InvitationTemplate{ID: clientele.DefaultTemplateID, Name: "Built-in invitation",
		Subject: mail.DefaultSubject, Body: mail.DefaultBody, BuiltIn: true}
}

func templateURL(id string) string { return "/v1/invitation-templates/" + id }

// checkTemplate validates a template's fields: the name as any name, the
// subject one line, and both parsed, so that a template that would fail at
// send time is refused at save time.
func checkTemplate(f *clientele.Fields, t *clientele.InvitationTemplate) {
	if n, err := clientele.CleanName(t.Name); err != nil {
		f.Add("name", "%v", err)
	} else {
		t.Name = n
	}
	check := func(field, v string, max int, oneLine bool) {
		switch {
		case strings.TrimSpace(v) == "":
			f.Add(field, "is required")
		case !utf8.ValidString(v):
			f.Add(field, "must be valid UTF-8")
		case utf8.RuneCountInString(v) > max:
			f.Add(field, "must be at most %d characters", max)
		case oneLine && strings.ContainsAny(v, "\r\n"):
			f.Add(field, "must be one line")
		default:
			if _, err := mail.ParseTemplate(v); err != nil {
				f.Add(field, "%v", err)
			}
		}
	}
	check("subject", t.Subject, clientele.MaxTemplateSubjectLen, true)
	check("body", t.Body, clientele.MaxTemplateBodyLen, false)
}

func (d Deps) createTemplate(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.TemplateInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	now := d.Store.Now()
	t := clientele.InvitationTemplate{ID: d.Store.NewID(), CreatedAt: &now, UpdatedAt: &now, Version: 1}
	var f clientele.Fields
	for _, v := range []struct {
		field string
		in    *string
		out   *string
	}{{"name", in.Name, &t.Name}, {"subject", in.Subject, &t.Subject}, {"body", in.Body, &t.Body}} {
		if v.in == nil {
			f.Add(v.field, "is required")
			continue
		}
		*v.out = *v.in
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	checkTemplate(&f, &t)
	if err := f.Err(); err != nil {
		return nil, err
	}
	resp := httpapi.Created(templateURL(t.ID), t.Version, t)
	if err := d.Store.CreateTemplate(ctx, r.Principal.PortalID, t, r.Record(resp)); err != nil {
		return nil, err
	}
	return resp, nil
}

func (d Deps) listTemplates(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	query := queryKey("invitation-templates")
	limit, start, err := listArgs(d, r, query)
	if err != nil {
		return nil, err
	}
	first := r.Query("cursor") == ""
	if first && limit > 1 {
		limit-- // the built-in one leads the first page
	}
	p, err := d.Store.ListTemplates(ctx, r.Principal.PortalID, limit, start)
	if err != nil {
		return nil, err
	}
	if first {
		p.Items = append([]clientele.InvitationTemplate{builtInTemplate()}, p.Items...)
	}
	return page(d, r, query, p), nil
}

// templateID reads the path's template id: the built-in's or an id.
func templateID(r *httpapi.Request) (string, error) {
	if id := r.Param("templateId"); id == clientele.DefaultTemplateID {
		return id, nil
	}
	return pathID(r, "templateId", "invitation template")
}

var errBuiltIn = clientele.Errorf(clientele.Conflict, "the built-in invitation template cannot be changed or deleted; create your own and choose it with PATCH /v1/portal")

func (d Deps) getTemplate(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := templateID(r)
	if err != nil {
		return nil, err
	}
	t := builtInTemplate()
	if id != clientele.DefaultTemplateID {
		if t, err = d.Store.GetTemplate(ctx, r.Principal.PortalID, id); err != nil {
			return nil, err
		}
	}
	return httpapi.WithETag(httpapi.JSON(200, t), t.Version), nil
}

func (d Deps) patchTemplate(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := templateID(r)
	if err != nil {
		return nil, err
	}
	var patch clientele.TemplatePatch
	if err := r.Decode(&patch); err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	if id == clientele.DefaultTemplateID {
		return nil, errBuiltIn
	}
	t, err := d.Store.UpdateTemplate(ctx, r.Principal.PortalID, id, func(cur clientele.InvitationTemplate) (clientele.InvitationTemplate, bool, error) {
		if err := pre.Check(cur.Version); err != nil {
			return cur, false, err
		}
		next := cur
		var f clientele.Fields
		for _, v := range []struct {
			field string
			in    clientele.Optional[string]
			out   *string
		}{{"name", patch.Name, &next.Name}, {"subject", patch.Subject, &next.Subject}, {"body", patch.Body, &next.Body}} {
			if v.in.Set && v.in.Null {
				f.Add(v.field, "must not be null")
			} else if v.in.Set {
				*v.out = v.in.Value
			}
		}
		if err := f.Err(); err != nil {
			return cur, false, err
		}
		checkTemplate(&f, &next)
		if err := f.Err(); err != nil {
			return cur, false, err
		}
		return next, next.Name != cur.Name || next.Subject != cur.Subject || next.Body != cur.Body, nil
	})
	if err != nil {
		return nil, err
	}
	return httpapi.WithETag(httpapi.JSON(200, t), t.Version), nil
}

func (d Deps) deleteTemplate(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	id, err := templateID(r)
	if err != nil {
		return nil, err
	}
	pre, err := r.IfMatch()
	if err != nil {
		return nil, err
	}
	if id == clientele.DefaultTemplateID {
		return nil, errBuiltIn
	}
	if err := d.Store.DeleteTemplate(ctx, r.Principal.PortalID, id, func(t clientele.InvitationTemplate) error { return pre.Check(t.Version) }); err != nil {
		return nil, err
	}
	return httpapi.NoContent(), nil
}
