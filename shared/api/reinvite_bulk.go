package api

import (
	"context"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/invite"
)

// ReinviteResults is the answer to POST /v1/users/reinvite.
type ReinviteResults struct {
	Results    []invite.Outcome `json:"results"`
	NextCursor *string          `json:"nextCursor"`
}

// reinviteUsers re-invites listed users, or a page of every invited user
// (status "invited", with a cursor to continue), each through the same
// 24-hour gate as a single re-invite, each with its own outcome.
func (d Deps) reinviteUsers(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in struct {
		UserIDs []string `json:"userIds"`
		Status  string   `json:"status"`
		Cursor  string   `json:"cursor"`
		// TemplateID chooses the invitation template of every email.
		TemplateID *string `json:"templateId"`
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	var f clientele.Fields
	switch {
	case (len(in.UserIDs) == 0) == (in.Status == ""):
		f.Add("userIds", "give either userIds (at most 100) or status %q", clientele.Invited)
	case len(in.UserIDs) > clientele.MaxEmailsPerAdd:
		f.Add("userIds", "must have at most %d ids", clientele.MaxEmailsPerAdd)
	case in.Status != "" && in.Status != clientele.Invited:
		f.Add("status", "must be %q", clientele.Invited)
	case in.Cursor != "" && in.Status == "":
		f.Add("cursor", "continues a status re-invite only")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	templateID, err := checkTemplateID(in.TemplateID)
	if err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	// The portal and the chosen template, read once for every user.
	ac, err := d.Store.ReadAddContextTemplate(ctx, pid, templateID)
	if err != nil {
		return nil, err
	}
	out := ReinviteResults{}
	ids := in.UserIDs
	if in.Status != "" {
		query := queryKey("reinvite", in.Status)
		start, err := d.Cursors.Open(pid, query, in.Cursor)
		if err != nil {
			return nil, err
		}
		p, err := d.Store.ListUsers(ctx, pid, dynamo.UserScope{}, clientele.Invited, "", clientele.MaxEmailsPerAdd, start)
		if err != nil {
			return nil, err
		}
		for _, u := range p.Items {
			if u.PortalAccess {
				ids = append(ids, u.ID)
			}
		}
		if c := d.Cursors.Seal(pid, query, p.Next); c != "" {
			out.NextCursor = &c
		}
	}
	out.Results = d.invitations(r).ReinviteAll(ctx, ac, ids, actor(r))
	for i, res := range out.Results {
		if res.Err != nil {
			out.Results[i].Detail = httpapi.Describe(res.Err).Detail
		}
	}
	return httpapi.JSON(200, out), nil
}
