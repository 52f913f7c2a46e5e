// Package csvimport is the use case of importing client users from a CSV
// file (POST /v1/imports). Each row is checked and written on its own, in
// at most three single transactions (create the row's missing company on
// its projects; add an existing company to a project of the row; create
// the user through the same store call as POST /v1/users), so a failure
// leaves every earlier row done, and running the file again finishes the
// rest: a row whose address exists is skipped. A dry run makes the same
// reads and decisions and writes nothing. Imported users are not sent an
// invitation.
package csvimport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/idempotency"
)

// Store is what an import reads and writes; *dynamo.Store implements it.
type Store interface {
	Now() time.Time
	NewID() string
	ListProjects(ctx context.Context, pid string, limit int, start map[string]string) (dynamo.Page[clientele.Project], error)
	ListProfiles(ctx context.Context, pid string, limit int, start map[string]string) (dynamo.Page[clientele.Profile], error)
	UserIDByEmail(ctx context.Context, pid, email string) (string, error)
	CompanyIDByName(ctx context.Context, pid, name string) (string, error)
	GetCompany(ctx context.Context, pid, cid string) (clientele.Company, error)
	CreateCompany(ctx context.Context, pid string, c clientele.Company, actor clientele.Actor, rec *idempotency.Record) (clientele.Company, error)
	AddCompany(ctx context.Context, pid, prid string, cid string, created *clientele.Company, primary *bool, actor clientele.Actor,
		record func(clientele.Project, clientele.Company) *idempotency.Record) (clientele.Project, clientele.Company, error)
	CreateUser(ctx context.Context, pid string, u clientele.User, tokenHash string, actor clientele.Actor) error
}

// Result is what an import did (or, in a dry run, would do): the answer to
// POST /v1/imports.
type Result struct {
	DryRun           bool                    `json:"dryRun"`
	Created          int                     `json:"created"`
	Skipped          int                     `json:"skipped"` // the address exists
	CompaniesCreated int                     `json:"companiesCreated"`
	Errors           []clientele.ImportError `json:"errors"` // by line
}

// Importer runs imports.
type Importer struct {
	Store Store
}

// Run imports the users of file into portal pid on behalf of by; with dry,
// it only says what it would do. A file that cannot be read as a whole is
// an error, and so is an Unavailable store, which stops the import where
// it is (a rerun goes on from there); what is wrong with one row is an
// error of its line.
func (im Importer) Run(ctx context.Context, pid string, by clientele.Actor, file []byte, dry bool) (Result, error) {
	rows, errs, err := clientele.ParseImport(file)
	if err != nil {
		return Result{}, err
	}
	res := Result{DryRun: dry, Errors: errs}
	if res.Errors == nil {
		res.Errors = []clientele.ImportError{}
	}
	projects, err := im.projectsByName(ctx, pid)
	if err != nil {
		return Result{}, err
	}
	profiles, err := im.profilesByName(ctx, pid)
	if err != nil {
		return Result{}, err
	}
	run := &run{Importer: im, pid: pid, by: by, dry: dry, res: &res, companies: map[string]string{}, joined: map[string]bool{}}
	seenEmails := map[string]bool{} // within the file
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
		existing, err := im.Store.UserIDByEmail(ctx, pid, row.Email)
		if err != nil {
			return Result{}, err
		}
		if existing != "" {
			res.Skipped++
			continue
		}
		cid, err := run.company(ctx, row, ups)
		if err != nil {
			if clientele.ErrorCode(err) == clientele.Unavailable {
				return Result{}, err
			}
			fail("company", "%s", clientele.Detail(err))
			continue
		}
		if dry {
			res.Created++
			continue
		}
		now := im.Store.Now()
		u := clientele.User{ID: im.Store.NewID(), Email: row.Email, Name: row.Name, CompanyID: cid, ProfileID: profileID,
			Status: clientele.Invited, PortalAccess: true, Projects: ups, Preferences: clientele.DefaultPreferences,
			CreatedAt: now, UpdatedAt: now, Version: 1}
		err = im.Store.CreateUser(ctx, pid, u, "", by)
		taken, isTaken := errors.AsType[clientele.EmailTaken](err)
		switch {
		case err == nil:
			res.Created++
		case isTaken && taken.UserID != "":
			res.Skipped++ // added meanwhile
		case clientele.ErrorCode(err) == clientele.Unavailable:
			return Result{}, err
		default:
			fail("email", "%s", clientele.Detail(err))
		}
	}
	slices.SortStableFunc(res.Errors, func(a, b clientele.ImportError) int { return a.Line - b.Line })
	return res, nil
}

// run is one import's state across its rows: what it learned of the
// portal's companies and did to them, so that later rows (and a dry run,
// which writes none of it) decide on what earlier rows did.
type run struct {
	Importer
	pid       string
	by        clientele.Actor
	dry       bool
	res       *Result
	companies map[string]string // name key -> id ("" when created by this dry run)
	joined    map[string]bool   // company id + project id known to be linked
}

// company finds the row's company by name or creates it (on the row's
// projects), and makes sure it is on each of them; it answers its id ("" in
// a dry run that would create it).
func (r *run) company(ctx context.Context, row clientele.ImportRow, ups []clientele.UserProject) (string, error) {
	nk := clientele.NameKey(row.Company)
	cid, known := r.companies[nk]
	if !known {
		var err error
		if cid, err = r.Store.CompanyIDByName(ctx, r.pid, row.Company); err != nil {
			return "", err
		}
	}
	if cid == "" && !known {
		var ids []string
		for _, up := range ups {
			ids = append(ids, up.ProjectID)
		}
		r.res.CompaniesCreated++
		if r.dry {
			r.companies[nk] = ""
			for _, id := range ids {
				r.joined[":"+nk+id] = true
			}
			return "", nil
		}
		c, err := clientele.NewCompany(clientele.CompanyInput{Name: row.Company, ProjectIDs: ids}, "", r.Store.NewID(), r.Store.Now())
		if err != nil {
			r.res.CompaniesCreated--
			return "", err
		}
		if _, err := r.Store.CreateCompany(ctx, r.pid, c, r.by, nil); err != nil {
			r.res.CompaniesCreated--
			return "", err
		}
		r.companies[nk] = c.ID
		for _, id := range ids {
			r.joined[c.ID+id] = true
		}
		return c.ID, nil
	}
	r.companies[nk] = cid
	for _, up := range ups {
		if r.joined[cid+up.ProjectID] || (cid == "" && r.joined[":"+nk+up.ProjectID]) {
			continue
		}
		if cid != "" {
			c, err := r.Store.GetCompany(ctx, r.pid, cid)
			if err != nil {
				return "", err
			}
			if c.HasProject(up.ProjectID) {
				r.joined[cid+up.ProjectID] = true
				continue
			}
		}
		if !r.dry {
			primary := false
			// Conflict: on the project already (it joined meanwhile), or the
			// project is full, which CreateUser's check of it then refuses.
			if _, _, err := r.Store.AddCompany(ctx, r.pid, up.ProjectID, cid, nil, &primary, r.by, nil); err != nil && clientele.ErrorCode(err) != clientele.Conflict {
				return "", err
			}
		}
		r.joined[cid+up.ProjectID] = true
	}
	return cid, nil
}

// profilesByName maps the portal's profiles by name key and by id (as an
// import may name either); "" and the built-in profile map to it.
func (im Importer) profilesByName(ctx context.Context, pid string) (map[string]string, error) {
	b := clientele.BuiltInClientProfile()
	out := map[string]string{"": b.ID, clientele.NameKey(b.ID): b.ID, clientele.NameKey(b.Name): b.ID}
	err := dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.Profile], error) {
		return im.Store.ListProfiles(ctx, pid, 200, start)
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

// projectsByName reads the portal's projects by name key (paged); of
// projects that share a name, the first read wins.
func (im Importer) projectsByName(ctx context.Context, pid string) (map[string]clientele.Project, error) {
	out := map[string]clientele.Project{}
	err := dynamo.EachPage(func(start map[string]string) (dynamo.Page[clientele.Project], error) {
		return im.Store.ListProjects(ctx, pid, 200, start)
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
