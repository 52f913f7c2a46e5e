package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/crm"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
)

// CRMImportResult is the answer to POST /v1/crm/imports: one outcome per
// contact.
type CRMImportResult struct {
	Created []clientele.User `json:"created"`
	Skipped []CRMSkipped     `json:"skipped"`
	Failed  []CRMFailed      `json:"failed"`
}

// CRMSkipped is a contact left alone, with the user that already stands
// for it.
type CRMSkipped struct {
	CRMID  string `json:"crmId"`
	Reason string `json:"reason"`
	UserID string `json:"userId,omitempty"`
}

// CRMFailed is a contact that could not be imported, as its problem.
type CRMFailed struct {
	CRMID  string `json:"crmId"`
	Status int    `json:"status"`
	Type   string `json:"type"`
	Detail string `json:"detail"`
}

// Reasons a contact is skipped.
const (
	skipImported = "already imported"
	skipAddress  = "a client user with this address exists"
)

// importContacts imports CRM contacts as client users. Everything is read
// from the CRM before anything is written, so a CRM that fails midway
// (down, rate-limited: 503) leaves nothing half-done. Then each contact is
// its own writes: its account's company (found by its account, else by
// name and linked, else created), then the user, through the same addUser
// as POST /v1/users (seats, uniqueness, template, history, invitation).
// The contact's guard commits with the user, so a re-run or a parallel
// import skips it.
func (d crmAPI) importContacts(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	var in clientele.CRMImportInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	req, err := in.Validate()
	if err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	if err := d.checkImportTargets(ctx, pid, req); err != nil {
		return nil, err
	}
	conn, err := d.connector(ctx, pid)
	if err != nil {
		return nil, err
	}
	imported, err := d.Store.CRMHolders(ctx, pid, dynamo.CRMContact, req.ContactIDs)
	if err != nil {
		return nil, err
	}
	res := CRMImportResult{Created: []clientele.User{}, Skipped: []CRMSkipped{}, Failed: []CRMFailed{}}
	fail := func(id string, err error) {
		p := httpapi.Describe(err)
		res.Failed = append(res.Failed, CRMFailed{CRMID: id, Status: p.Status, Type: p.Type, Detail: p.Detail})
	}

	// Read: the contacts not imported yet, and their accounts.
	var todo []crm.Contact
	accounts := map[string]crm.Account{}
	gone := map[string]bool{} // accounts a contact names that the CRM no longer has
	for _, id := range req.ContactIDs {
		if uid, ok := imported[id]; ok {
			res.Skipped = append(res.Skipped, CRMSkipped{CRMID: id, Reason: skipImported, UserID: uid})
			continue
		}
		c, err := conn.Contact(ctx, id)
		if err = crmError(err, true); clientele.ErrorCode(err) == clientele.NotFound {
			fail(id, err)
			continue
		} else if err != nil {
			return nil, err
		}
		todo = append(todo, c)
		if _, seen := accounts[c.AccountID]; c.AccountID != "" && !seen && !gone[c.AccountID] {
			a, err := conn.Account(ctx, c.AccountID)
			switch err = crmError(err, true); {
			case clientele.ErrorCode(err) == clientele.NotFound:
				gone[c.AccountID] = true
			case err != nil:
				return nil, err
			default:
				accounts[a.ID] = a
			}
		}
	}
	companies, err := d.Store.CRMHolders(ctx, pid, dynamo.CRMAccount, slices.Collect(maps.Keys(accounts)))
	if err != nil {
		return nil, err
	}

	// Write, contact by contact.
	contexts := map[string]dynamo.AddContext{} // by company id
	inv := d.invitations(r)
	for _, c := range todo {
		email, err := clientele.NormalizeEmail(c.Email)
		if err != nil {
			fail(c.ID, clientele.Errorf(clientele.Invalid, "the CRM contact's email address %v", err))
			continue
		}
		var cid string
		if gone[c.AccountID] {
			fail(c.ID, clientele.Errorf(clientele.NotFound, "the CRM contact's account %s is not in the CRM", c.AccountID))
			continue
		}
		if a, ok := accounts[c.AccountID]; ok {
			cid, err = d.accountCompany(ctx, r, a, companies)
		} else {
			cid, err = d.individualCompany(ctx, r, c)
		}
		if err != nil {
			if clientele.ErrorCode(err) == clientele.Unavailable {
				return nil, err
			}
			fail(c.ID, err)
			continue
		}
		ac, ok := contexts[cid]
		if !ok {
			if err = d.joinProjects(ctx, r, cid, req.ProjectIDs); err == nil {
				ac, err = d.Store.ReadAddContext(ctx, pid, cid, req.ProjectIDs, nil, nil, nil, "")
			}
			if clientele.ErrorCode(err) == clientele.Unavailable {
				return nil, err // what is done stays done; a retry skips it
			} else if err != nil {
				fail(c.ID, err)
				continue
			}
			contexts[cid] = ac
		}
		tmpl := clientele.User{CompanyID: cid, ProfileID: req.ProfileID, Status: clientele.Invited, PortalAccess: req.Invite,
			Preferences: clientele.DefaultPreferences, CRM: &clientele.CRMLink{ContactID: c.ID}, Projects: []clientele.UserProject{}, RoleIDs: []string{}}
		if c.Name != "" {
			if n, err := clientele.CleanName(c.Name); err == nil {
				tmpl.Name = &n
			}
		}
		for _, prid := range req.ProjectIDs {
			tmpl.Projects = append(tmpl.Projects, clientele.UserProject{ProjectID: prid})
		}
		u, err := inv.Add(ctx, ac, tmpl, email, inv.ByStaff(ctx, ac.Portal.ID, actor(r)))
		imported, isImported := errors.AsType[clientele.ContactImported](err)
		taken, isTaken := errors.AsType[clientele.EmailTaken](err)
		switch {
		case err == nil:
			res.Created = append(res.Created, crmView(r, u))
		case isImported:
			res.Skipped = append(res.Skipped, CRMSkipped{CRMID: c.ID, Reason: skipImported, UserID: imported.UserID})
		case isTaken && taken.UserID != "":
			res.Skipped = append(res.Skipped, CRMSkipped{CRMID: c.ID, Reason: skipAddress, UserID: taken.UserID})
		case clientele.ErrorCode(err) == clientele.Unavailable:
			return nil, err
		default:
			fail(c.ID, err)
		}
	}
	return httpapi.JSON(http.StatusOK, res), nil
}

// checkImportTargets refuses, before anything is read from the CRM or
// written, an import onto a profile or projects that do not exist.
func (d crmAPI) checkImportTargets(ctx context.Context, pid string, req clientele.CRMImport) error {
	var f clientele.Fields
	if req.ProfileID != clientele.BuiltInProfile {
		_, err := d.Store.GetProfile(ctx, pid, req.ProfileID)
		switch code := clientele.ErrorCode(err); {
		case code == clientele.NotFound:
			f.Add("profileId", "no such profile")
		case err != nil:
			return err
		}
	}
	projects, err := d.Store.ReadProjects(ctx, pid, req.ProjectIDs)
	if err != nil {
		return err
	}
	for i, id := range req.ProjectIDs {
		if _, ok := projects[id]; !ok {
			f.Add(fmt.Sprintf("projectIds[%d]", i), "no such project")
		}
	}
	return f.Err()
}

// accountCompany is the company of CRM account a: the one linked to it
// (known: the links read before), else the one of its name, linked now,
// else a new one linked from the start. A concurrent request doing the
// same makes one of the two writes fail on a guard, which names the
// company to use.
func (d crmAPI) accountCompany(ctx context.Context, r *httpapi.Request, a crm.Account, known map[string]string) (string, error) {
	if cid, ok := known[a.ID]; ok {
		return cid, nil
	}
	pid := r.Principal.PortalID
	for range 3 {
		cid, err := d.Store.CompanyIDByName(ctx, pid, a.Name)
		if err != nil {
			return "", err
		}
		if cid != "" {
			_, err := d.Store.LinkCompany(ctx, pid, cid, a.ID)
			if linked, ok := errors.AsType[clientele.AccountLinked](err); ok {
				cid, err = linked.CompanyID, nil
			}
			if err == nil {
				known[a.ID] = cid
			}
			return cid, err
		}
		in := clientele.CompanyInput{Name: a.Name, Address: crmAddress(a.Address)}
		if a.Website != "" {
			in.Website = &a.Website
		}
		c, err := clientele.NewCompany(in, "", d.Store.NewID(), d.Store.Now())
		if err != nil && in.Website != nil {
			// A CRM's website field is free text: leave out one that is not a URL.
			in.Website = nil
			c, err = clientele.NewCompany(in, "", d.Store.NewID(), d.Store.Now())
		}
		if err != nil {
			return "", clientele.Errorf(clientele.Invalid, "the CRM account %q cannot be a company: %s", a.Name, httpapi.Describe(err).Detail)
		}
		c.CRM = &clientele.CRMLink{AccountID: a.ID}
		_, err = d.Store.CreateCompany(ctx, pid, c, actor(r), nil)
		if linked, ok := errors.AsType[clientele.AccountLinked](err); ok {
			c.ID, err = linked.CompanyID, nil
		}
		if err == nil {
			known[a.ID] = c.ID
			return c.ID, nil
		}
		if clientele.ErrorCode(err) != clientele.Conflict {
			return "", err
		}
		// The name was taken meanwhile: find that company and link it.
	}
	return "", clientele.Errorf(clientele.Unavailable, "the company of CRM account %q kept changing; retry", a.Name)
}

// individualCompany is the company of a contact without a CRM account: an
// individual client named after the contact, as a person is their own
// client (found by that name on a re-run).
func (d crmAPI) individualCompany(ctx context.Context, r *httpapi.Request, c crm.Contact) (string, error) {
	name := c.Name
	if name == "" {
		name = c.Email
	}
	pid := r.Principal.PortalID
	if cid, err := d.Store.CompanyIDByName(ctx, pid, name); cid != "" || err != nil {
		return cid, err
	}
	co, err := clientele.NewCompany(clientele.CompanyInput{Name: name, Type: clientele.Individual}, "", d.Store.NewID(), d.Store.Now())
	if err != nil {
		return "", clientele.Errorf(clientele.Invalid, "the CRM contact has no account, and %q cannot name a company: %s", name, httpapi.Describe(err).Detail)
	}
	if _, err = d.Store.CreateCompany(ctx, pid, co, actor(r), nil); clientele.ErrorCode(err) == clientele.Conflict {
		return d.Store.CompanyIDByName(ctx, pid, name) // created meanwhile
	}
	return co.ID, err
}

// joinProjects puts company cid on each project it is not on yet, not as
// their primary client (as CSV imports do): an import adds people, it does
// not decide who a project is for.
func (d crmAPI) joinProjects(ctx context.Context, r *httpapi.Request, cid string, projectIDs []string) error {
	if len(projectIDs) == 0 {
		return nil
	}
	c, err := d.Store.GetCompany(ctx, r.Principal.PortalID, cid)
	if err != nil {
		return err
	}
	primary := false
	for _, prid := range projectIDs {
		if c.HasProject(prid) {
			continue
		}
		_, _, err := d.Store.AddCompany(ctx, r.Principal.PortalID, prid, cid, nil, &primary, actor(r), nil)
		if err != nil && clientele.ErrorCode(err) != clientele.Conflict { // Conflict: added meanwhile
			return err
		}
	}
	return nil
}

func crmAddress(a crm.Address) *clientele.Address {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	out := clientele.Address{Street: opt(a.Street), City: opt(a.City), State: opt(a.State), PostalCode: opt(a.PostalCode), Country: opt(a.Country)}
	if out == (clientele.Address{}) {
		return nil
	}
	return &out
}

// DealConversion is the answer to POST /v1/crm/deals/{dealId}/convert.
type DealConversion struct {
	Project clientele.Project `json:"project"`
	Company clientele.Company `json:"company"`
	Primary bool              `json:"primary"`
}

// convertDeal turns a CRM deal into a project: a new one named after the
// deal, or an existing one; the deal's account's company (found or made as
// an import does) becomes its primary client unless it has one. The CRM is
// read and the project checked before anything is written; the deal's
// guard commits with the project change, so a deal converts once (409
// naming the project).
func (d crmAPI) convertDeal(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	dealID := r.Param("dealId")
	if !clientele.ValidCRMID(dealID) {
		return nil, clientele.Errorf(clientele.NotFound, "no such deal in the CRM")
	}
	var in clientele.DealConversionInput
	if err := decodeOptional(r, &in); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	pid := r.Principal.PortalID
	held, err := d.Store.CRMHolders(ctx, pid, dynamo.CRMDeal, []string{dealID})
	if err != nil {
		return nil, err
	}
	if prid, ok := held[dealID]; ok {
		return nil, clientele.DealConverted{ProjectID: prid}
	}
	var existing clientele.Project
	if in.ProjectID != nil {
		if existing, err = d.Store.GetProject(ctx, pid, *in.ProjectID); err != nil {
			return nil, err
		}
		if existing.CRM != nil && len(existing.CRM.DealIDs) >= clientele.MaxDealsPerProject {
			return nil, clientele.Errorf(clientele.Conflict, "a project can hold at most %d converted deals", clientele.MaxDealsPerProject)
		}
	}
	conn, err := d.connector(ctx, pid)
	if err != nil {
		return nil, err
	}
	deal, err := conn.Deal(ctx, dealID)
	if err != nil {
		if err = crmError(err, true); clientele.ErrorCode(err) == clientele.NotFound {
			err = clientele.Errorf(clientele.NotFound, "no such deal in the CRM")
		}
		return nil, err
	}
	if deal.AccountID == "" {
		return nil, clientele.Errorf(clientele.Conflict, "the deal has no account in the CRM: give it one, whose company becomes the project's client")
	}
	account, err := conn.Account(ctx, deal.AccountID)
	if err != nil {
		return nil, crmError(err, true)
	}
	var project *clientele.Project
	if in.ProjectID == nil {
		pi := clientele.ProjectInput{Name: deal.Name}
		if in.Name != nil {
			pi.Name = *in.Name
		}
		if in.Billing != nil {
			pi.Billing = *in.Billing
		}
		p, err := clientele.NewProject(pi, d.Store.NewID(), d.Store.Now())
		if err != nil {
			return nil, err // a deal name that cannot name a project: name fixes it
		}
		project = &p
	}
	linked, err := d.Store.CRMHolders(ctx, pid, dynamo.CRMAccount, []string{account.ID})
	if err != nil {
		return nil, err
	}
	cid, err := d.accountCompany(ctx, r, account, linked)
	if err != nil {
		return nil, err
	}
	// The company is read before the conversion commits: once it has, a
	// failed read would answer 503 for work that is done.
	c, err := d.Store.GetCompany(ctx, pid, cid)
	if err != nil {
		return nil, err
	}
	p, primary, err := d.Store.ConvertDeal(ctx, pid, dealID, project, existing.ID, cid, actor(r))
	if err != nil {
		return nil, err
	}
	if !c.HasProject(p.ID) {
		c.ProjectIDs = append(c.ProjectIDs, p.ID)
		slices.Sort(c.ProjectIDs)
	}
	return httpapi.Created(projectURL(p.ID), p.Version, DealConversion{Project: p, Company: c, Primary: primary}), nil
}

// decodeOptional decodes a body that may be absent (all defaults).
func decodeOptional(r *httpapi.Request, v any) error {
	if strings.TrimSpace(r.Event.Body) == "" {
		return nil
	}
	return r.Decode(v)
}
