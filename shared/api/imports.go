package api

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
)

// ImportResult is the answer to POST /v1/imports.
type ImportResult struct {
	DryRun           bool                    `json:"dryRun"`
	Created          int                     `json:"created"`
	Skipped          int                     `json:"skipped"`
	CompaniesCreated int                     `json:"companiesCreated"`
	Errors           []clientele.ImportError `json:"errors"`
}

// importUsers imports client users from a CSV file. Each row is checked and
// written on its own, in at most three single transactions (create the
// missing company with its projects; add an existing company to a row's
// project; create the user through the same store call as POST /v1/users),
// so a failure leaves every earlier row done and re-running the file
// finishes the rest: rows whose address exists are skipped. A dry run makes
// the same reads and decisions and writes nothing.
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
	rows, errs, err := clientele.ParseImport(body)
	if err != nil {
		return nil, err
	}
	res := ImportResult{DryRun: dry, Errors: errs}
	if res.Errors == nil {
		res.Errors = []clientele.ImportError{}
	}
	pid := r.Principal.PortalID
	projects, err := d.projectsByName(ctx, pid)
	if err != nil {
		return nil, err
	}
	profiles, err := d.profilesByName(ctx, pid)
	if err != nil {
		return nil, err
	}
	companies := map[string]string{} // name key -> id ("" when created by this dry run)
	joined := map[string]bool{}      // company id + project id known to be linked
	seenEmails := map[string]bool{}  // within the file
	for _, row := range rows {
		fail := func(field, format string, args ...any) {
			res.Errors = append(res.Errors, clientele.ImportError{Line: row.Line, Field: field, Message: fmt.Sprintf(format, args...)})
		}
		if seenEmails[clientele.EmailKey(row.Email)] {
			fail("email", "the address is on an earlier line of this file")
			continue
		}
		seenEmails[clientele.EmailKey(row.Email)] = true
		profileID, ok := profiles[clientele.NameKey(row.Profile)]
		if !ok {
			fail("profile", "no profile named %q", row.Profile)
			continue
		}
		var ups []clientele.UserProject
		for _, name := range row.Projects {
			p, found := projects[clientele.NameKey(name)]
			if !found {
				fail("projects", "no project named %q", name)
				ok = false
				continue
			}
			var billing clientele.Fields
			clientele.CheckRateBilling("", p.Billing, row.RatePerHour, nil, &billing)
			for _, e := range billing {
				fail(e.Field, "project %q: %s", name, e.Message)
				ok = false
			}
			ups = append(ups, clientele.UserProject{ProjectID: p.ID, RatePerHour: row.RatePerHour})
		}
		if !ok {
			continue
		}
		existing, err := d.Store.UserIDByEmail(ctx, pid, row.Email)
		if err != nil {
			return nil, err
		}
		if existing != "" {
			res.Skipped++
			continue
		}
		cid, err := d.importCompany(ctx, r, row, ups, companies, joined, dry, &res)
		if err != nil {
			if clientele.ErrorCode(err) == clientele.Unavailable {
				return nil, err
			}
			fail("company", "%s", httpapi.Describe(err).Detail)
			continue
		}
		if dry {
			res.Created++
			continue
		}
		now := d.Store.Now()
		u := clientele.User{ID: d.Store.NewID(), Email: row.Email, Name: row.Name, CompanyID: cid, ProfileID: profileID,
			Status: clientele.Invited, PortalAccess: true, Projects: ups, Preferences: clientele.DefaultPreferences,
			CreatedAt: now, UpdatedAt: now, Version: 1}
		err = d.Store.CreateUser(ctx, pid, u, "", actor(r))
		taken, isTaken := errors.AsType[clientele.EmailTaken](err)
		switch {
		case err == nil:
			res.Created++
		case isTaken && taken.UserID != "":
			res.Skipped++ // added meanwhile
		case clientele.ErrorCode(err) == clientele.Unavailable:
			return nil, err
		default:
			fail("email", "%s", httpapi.Describe(err).Detail)
		}
	}
	slices.SortStableFunc(res.Errors, func(a, b clientele.ImportError) int { return a.Line - b.Line })
	return httpapi.JSON(http.StatusOK, res), nil
}

// importCompany finds the row's company by name or creates it (on the
// row's projects), and makes sure it is on each of them.
func (d Deps) importCompany(ctx context.Context, r *httpapi.Request, row clientele.ImportRow, ups []clientele.UserProject,
	companies map[string]string, joined map[string]bool, dry bool, res *ImportResult) (string, error) {
	pid := r.Principal.PortalID
	nk := clientele.NameKey(row.Company)
	cid, known := companies[nk]
	if !known {
		var err error
		if cid, err = d.Store.CompanyIDByName(ctx, pid, row.Company); err != nil {
			return "", err
		}
	}
	if cid == "" && !known {
		var ids []string
		for _, up := range ups {
			ids = append(ids, up.ProjectID)
		}
		res.CompaniesCreated++
		if dry {
			companies[nk] = ""
			for _, id := range ids {
				joined[":"+nk+id] = true
			}
			return "", nil
		}
		c, err := clientele.NewCompany(clientele.CompanyInput{Name: row.Company, ProjectIDs: ids}, "", d.Store.NewID(), d.Store.Now())
		if err != nil {
			res.CompaniesCreated--
			return "", err
		}
		if _, err := d.Store.CreateCompany(ctx, pid, c, actor(r), nil); err != nil {
			res.CompaniesCreated--
			return "", err
		}
		companies[nk] = c.ID
		for _, id := range ids {
			joined[c.ID+id] = true
		}
		return c.ID, nil
	}
	companies[nk] = cid
	for _, up := range ups {
		if joined[cid+up.ProjectID] || (cid == "" && joined[":"+nk+up.ProjectID]) {
			continue
		}
		if cid != "" {
			c, err := d.Store.GetCompany(ctx, pid, cid)
			if err != nil {
				return "", err
			}
			if c.HasProject(up.ProjectID) {
				joined[cid+up.ProjectID] = true
				continue
			}
		}
		if !dry {
			primary := false
			if _, _, err := d.Store.AddCompany(ctx, pid, up.ProjectID, cid, nil, &primary, actor(r), nil); err != nil && clientele.ErrorCode(err) != clientele.Conflict {
				return "", err
			}
		}
		joined[cid+up.ProjectID] = true
	}
	return cid, nil
}

// projectsByName reads the portal's projects by name key (paged).
// profilesByName maps the portal's profiles by name key and by id (as an
// import may name either); "" and the built-in profile map to it.
func (d Deps) profilesByName(ctx context.Context, pid string) (map[string]string, error) {
	b := clientele.BuiltInClientProfile()
	out := map[string]string{"": b.ID, clientele.NameKey(b.ID): b.ID, clientele.NameKey(b.Name): b.ID}
	err := dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.Profile], error) {
		return d.Store.ListProfiles(ctx, pid, 200, start)
	}, func(ps []clientele.Profile) error {
		for _, pr := range ps {
			out[clientele.NameKey(pr.Name)], out[clientele.NameKey(pr.ID)] = pr.ID, pr.ID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (d Deps) projectsByName(ctx context.Context, pid string) (map[string]clientele.Project, error) {
	out := map[string]clientele.Project{}
	err := dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.Project], error) {
		return d.Store.ListProjects(ctx, pid, 200, start)
	}, func(ps []clientele.Project) error {
		for _, pr := range ps {
			if _, dup := out[clientele.NameKey(pr.Name)]; !dup {
				out[clientele.NameKey(pr.Name)] = pr
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
