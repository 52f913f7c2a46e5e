// Package crmimport holds the use cases that bring a portal's CRM records
// into Clientele: importing contacts as client users, and converting a deal
// into a project. Both guarantee the same things: the request's targets are
// checked before the CRM is read, and everything the CRM is asked for is
// read before the first write, so a CRM that fails midway (down,
// rate-limited) leaves nothing half-done. An import's contacts then each
// have their own outcome (created, skipped with the user that stands for
// it, or failed with why), except that an Unavailable error aborts the
// whole request: a retry skips what was done. A CRM record is held once
// (the store's guards), so re-runs and parallel requests skip or refuse
// what another already did.
package crmimport

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/crm"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/idempotency"
	"github.com/clientele/clientele/shared/invite"
)

// Store is what the use cases read and write; *dynamo.Store implements it.
type Store interface {
	Now() time.Time
	NewID() string
	CRMHolders(ctx context.Context, pid, kind string, ids []string) (map[string]string, error)
	GetProfile(ctx context.Context, pid, id string) (clientele.Profile, error)
	ReadProjects(ctx context.Context, pid string, ids []string) (map[string]clientele.Project, error)
	GetProject(ctx context.Context, pid, prid string) (clientele.Project, error)
	GetCompany(ctx context.Context, pid, cid string) (clientele.Company, error)
	CompanyIDByName(ctx context.Context, pid, name string) (string, error)
	CreateCompany(ctx context.Context, pid string, c clientele.Company, actor clientele.Actor, rec *idempotency.Record) (clientele.Company, error)
	LinkCompany(ctx context.Context, pid, cid, accountID string) (clientele.Company, error)
	AddCompany(ctx context.Context, pid, prid string, cid string, created *clientele.Company, primary *bool, actor clientele.Actor, record func(clientele.Project, clientele.Company) *idempotency.Record) (clientele.Project, clientele.Company, error)
	ReadAddContext(ctx context.Context, pid, cid string, projectIDs, roleIDs []string, rate, cost *float64, templateID string) (dynamo.AddContext, error)
	ConvertDeal(ctx context.Context, pid, dealID string, newProject *clientele.Project, prid, cid string, actor clientele.Actor) (clientele.Project, bool, error)
}

// Imports runs the use cases. A request's handler uses a copy with its own
// invitations (logger, base URL).
type Imports struct {
	Store Store
	// Invitations add each imported user, as POST /v1/users does (seats,
	// uniqueness, template, history, the invitation email).
	Invitations invite.Invitations
	// Connect opens portal pid's CRM. It is called only once the request's
	// targets are checked: opening costs a read and the sealer.
	Connect func(ctx context.Context, pid string) (crm.Connector, error)
}

// Reasons a contact is skipped.
const (
	ReasonImported = "already imported"
	ReasonAddress  = "a client user with this address exists"
)

// Existing is a contact left alone, with the user that already stands for
// it.
type Existing struct {
	CRMID  string `json:"crmId"`
	Reason string `json:"reason"`
	UserID string `json:"userId,omitempty"`
}

// Failure is a contact that could not be imported, and why (a domain
// error, which the caller describes).
type Failure struct {
	CRMID string
	Err   error
}

// Result is an import's outcome per contact, each list in request order.
type Result struct {
	Created []clientele.User
	Skipped []Existing
	Failed  []Failure
}

// Contacts imports the CRM contacts in of portal pid as client users, made
// by by. It reads the contacts not imported yet and their accounts, then
// writes contact by contact: the account's company (found by its account,
// else by name and linked, else created; a contact without account gets an
// individual company), the company onto the request's projects, then the
// user through Invitations.Add. The contact's guard commits with the user.
// The error is the request's (invalid, unknown targets, the CRM or the
// store unavailable); every other failure is the contact's.
func (s Imports) Contacts(ctx context.Context, pid string, in clientele.CRMImportInput, by clientele.Actor) (Result, error) {
	req, err := in.Validate()
	if err != nil {
		return Result{}, err
	}
	if err := s.checkTargets(ctx, pid, req); err != nil {
		return Result{}, err
	}
	conn, err := s.Connect(ctx, pid)
	if err != nil {
		return Result{}, err
	}
	imported, err := s.Store.CRMHolders(ctx, pid, dynamo.CRMContact, req.ContactIDs)
	if err != nil {
		return Result{}, err
	}
	var res Result
	fail := func(id string, err error) { res.Failed = append(res.Failed, Failure{CRMID: id, Err: err}) }

	// Read: the contacts not imported yet, and their accounts.
	var todo []crm.Contact
	accounts := map[string]crm.Account{}
	gone := map[string]bool{} // accounts a contact names that the CRM no longer has
	for _, id := range req.ContactIDs {
		if uid, ok := imported[id]; ok {
			res.Skipped = append(res.Skipped, Existing{CRMID: id, Reason: ReasonImported, UserID: uid})
			continue
		}
		c, err := conn.Contact(ctx, id)
		if err = crm.DomainError(err, true); clientele.ErrorCode(err) == clientele.NotFound {
			fail(id, err)
			continue
		} else if err != nil {
			return Result{}, err
		}
		todo = append(todo, c)
		if _, seen := accounts[c.AccountID]; c.AccountID != "" && !seen && !gone[c.AccountID] {
			a, err := conn.Account(ctx, c.AccountID)
			switch err = crm.DomainError(err, true); {
			case clientele.ErrorCode(err) == clientele.NotFound:
				gone[c.AccountID] = true
			case err != nil:
				return Result{}, err
			default:
				accounts[a.ID] = a
			}
		}
	}
	companies, err := s.Store.CRMHolders(ctx, pid, dynamo.CRMAccount, slices.Collect(maps.Keys(accounts)))
	if err != nil {
		return Result{}, err
	}

	// Write, contact by contact. Unavailable aborts: what is done stays
	// done, and a retry skips it.
	contexts := map[string]dynamo.AddContext{} // by company id
	for _, c := range todo {
		email, err := clientele.NormalizeEmail(c.Email)
		if err != nil {
			fail(c.ID, clientele.Errorf(clientele.Invalid, "the CRM contact's email address %v", err))
			continue
		}
		if gone[c.AccountID] {
			fail(c.ID, clientele.Errorf(clientele.NotFound, "the CRM contact's account %s is not in the CRM", c.AccountID))
			continue
		}
		var cid string
		if a, ok := accounts[c.AccountID]; ok {
			cid, err = s.accountCompany(ctx, pid, a, companies, by)
		} else {
			cid, err = s.individualCompany(ctx, pid, c, by)
		}
		if err != nil {
			if clientele.ErrorCode(err) == clientele.Unavailable {
				return Result{}, err
			}
			fail(c.ID, err)
			continue
		}
		ac, ok := contexts[cid]
		if !ok {
			if err = s.joinProjects(ctx, pid, cid, req.ProjectIDs, by); err == nil {
				ac, err = s.Store.ReadAddContext(ctx, pid, cid, req.ProjectIDs, nil, nil, nil, "")
			}
			if clientele.ErrorCode(err) == clientele.Unavailable {
				return Result{}, err
			} else if err != nil {
				fail(c.ID, err)
				continue
			}
			contexts[cid] = ac
		}
		u, err := s.Invitations.Add(ctx, ac, userOf(c, cid, req), email, s.Invitations.ByStaff(ctx, pid, by))
		imported, isImported := errors.AsType[clientele.ContactImported](err)
		taken, isTaken := errors.AsType[clientele.EmailTaken](err)
		switch {
		case err == nil:
			res.Created = append(res.Created, u)
		case isImported:
			res.Skipped = append(res.Skipped, Existing{CRMID: c.ID, Reason: ReasonImported, UserID: imported.UserID})
		case isTaken && taken.UserID != "":
			res.Skipped = append(res.Skipped, Existing{CRMID: c.ID, Reason: ReasonAddress, UserID: taken.UserID})
		case clientele.ErrorCode(err) == clientele.Unavailable:
			return Result{}, err
		default:
			fail(c.ID, err)
		}
	}
	return res, nil
}

// userOf is the user contact c becomes in company cid: invited, on the
// request's profile and projects, linked to the contact. A CRM name that
// cannot name a user is left out rather than failing the contact.
func userOf(c crm.Contact, cid string, req clientele.CRMImport) clientele.User {
	u := clientele.User{CompanyID: cid, ProfileID: req.ProfileID, Status: clientele.Invited, PortalAccess: req.Invite,
		Preferences: clientele.DefaultPreferences, CRM: &clientele.CRMLink{ContactID: c.ID}, Projects: []clientele.UserProject{}, RoleIDs: []string{}}
	if c.Name != "" {
		if n, err := clientele.CleanName(c.Name); err == nil {
			u.Name = &n
		}
	}
	for _, prid := range req.ProjectIDs {
		u.Projects = append(u.Projects, clientele.UserProject{ProjectID: prid})
	}
	return u
}

// checkTargets refuses, before anything is read from the CRM or written,
// an import onto a profile or projects that do not exist.
func (s Imports) checkTargets(ctx context.Context, pid string, req clientele.CRMImport) error {
	var f clientele.Fields
	if req.ProfileID != clientele.BuiltInProfile {
		_, err := s.Store.GetProfile(ctx, pid, req.ProfileID)
		switch code := clientele.ErrorCode(err); {
		case code == clientele.NotFound:
			f.Add("profileId", "no such profile")
		case err != nil:
			return err
		}
	}
	projects, err := s.Store.ReadProjects(ctx, pid, req.ProjectIDs)
	if err != nil {
		return err
	}
	clientele.Unknown(&f, "projectIds", "project", req.ProjectIDs, projects)
	return f.Err()
}

// accountCompany is the company of CRM account a: the one linked to it
// (known: the links read before), else the one of its name, linked now,
// else a new one linked from the start. A concurrent request doing the
// same makes one of the two writes fail on a guard, which names the
// company to use.
func (s Imports) accountCompany(ctx context.Context, pid string, a crm.Account, known map[string]string, by clientele.Actor) (string, error) {
	if cid, ok := known[a.ID]; ok {
		return cid, nil
	}
	for range 3 {
		cid, err := s.Store.CompanyIDByName(ctx, pid, a.Name)
		if err != nil {
			return "", err
		}
		if cid != "" {
			_, err := s.Store.LinkCompany(ctx, pid, cid, a.ID)
			if linked, ok := errors.AsType[clientele.AccountLinked](err); ok {
				cid, err = linked.CompanyID, nil
			}
			if err == nil {
				known[a.ID] = cid
			}
			return cid, err
		}
		in := clientele.CompanyInput{Name: a.Name, Address: address(a.Address)}
		if a.Website != "" {
			in.Website = &a.Website
		}
		c, err := clientele.NewCompany(in, "", s.Store.NewID(), s.Store.Now())
		if err != nil && in.Website != nil {
			// A CRM's website field is free text: leave out one that is not a URL.
			in.Website = nil
			c, err = clientele.NewCompany(in, "", s.Store.NewID(), s.Store.Now())
		}
		if err != nil {
			return "", clientele.Errorf(clientele.Invalid, "the CRM account %q cannot be a company: %s", a.Name, clientele.Detail(err))
		}
		c.CRM = &clientele.CRMLink{AccountID: a.ID}
		_, err = s.Store.CreateCompany(ctx, pid, c, by, nil)
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
func (s Imports) individualCompany(ctx context.Context, pid string, c crm.Contact, by clientele.Actor) (string, error) {
	name := c.Name
	if name == "" {
		name = c.Email
	}
	if cid, err := s.Store.CompanyIDByName(ctx, pid, name); cid != "" || err != nil {
		return cid, err
	}
	co, err := clientele.NewCompany(clientele.CompanyInput{Name: name, Type: clientele.Individual}, "", s.Store.NewID(), s.Store.Now())
	if err != nil {
		return "", clientele.Errorf(clientele.Invalid, "the CRM contact has no account, and %q cannot name a company: %s", name, clientele.Detail(err))
	}
	if _, err = s.Store.CreateCompany(ctx, pid, co, by, nil); clientele.ErrorCode(err) == clientele.Conflict {
		return s.Store.CompanyIDByName(ctx, pid, name) // created meanwhile
	}
	return co.ID, err
}

// joinProjects puts company cid on each project it is not on yet, not as
// their primary client (as CSV imports do): an import adds people, it does
// not decide who a project is for.
func (s Imports) joinProjects(ctx context.Context, pid, cid string, projectIDs []string, by clientele.Actor) error {
	if len(projectIDs) == 0 {
		return nil
	}
	c, err := s.Store.GetCompany(ctx, pid, cid)
	if err != nil {
		return err
	}
	primary := false
	for _, prid := range projectIDs {
		if c.HasProject(prid) {
			continue
		}
		_, _, err := s.Store.AddCompany(ctx, pid, prid, cid, nil, &primary, by, nil)
		if err != nil && clientele.ErrorCode(err) != clientele.Conflict { // Conflict: added meanwhile
			return err
		}
	}
	return nil
}

// address is a CRM account's address as a company's, nil when it has none.
func address(a crm.Address) *clientele.Address {
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

// Conversion is a converted deal: the project, its client company as it
// is now, and whether that company is the project's primary client.
type Conversion struct {
	Project clientele.Project `json:"project"`
	Company clientele.Company `json:"company"`
	Primary bool              `json:"primary"`
}

// ConvertDeal turns CRM deal dealID of portal pid into a project, by by: a
// new one named after the deal (in's name and billing), or the existing
// in.ProjectID; the deal's account's company (found or made as an import
// does) becomes its primary client unless it has one. The project is
// checked and the CRM read before anything is written; the deal's guard
// commits with the project change, so a deal converts once (DealConverted
// naming the project). dealID is a CRM record id (clientele.ValidCRMID):
// the caller answers anything else as no such deal.
func (s Imports) ConvertDeal(ctx context.Context, pid, dealID string, in clientele.DealConversionInput, by clientele.Actor) (Conversion, error) {
	if err := in.Validate(); err != nil {
		return Conversion{}, err
	}
	held, err := s.Store.CRMHolders(ctx, pid, dynamo.CRMDeal, []string{dealID})
	if err != nil {
		return Conversion{}, err
	}
	if prid, ok := held[dealID]; ok {
		return Conversion{}, clientele.DealConverted{ProjectID: prid}
	}
	var existing clientele.Project
	if in.ProjectID != nil {
		if existing, err = s.Store.GetProject(ctx, pid, *in.ProjectID); err != nil {
			return Conversion{}, err
		}
		if existing.CRM != nil && len(existing.CRM.DealIDs) >= clientele.MaxDealsPerProject {
			return Conversion{}, clientele.Errorf(clientele.Conflict, "a project can hold at most %d converted deals", clientele.MaxDealsPerProject)
		}
	}
	conn, err := s.Connect(ctx, pid)
	if err != nil {
		return Conversion{}, err
	}
	deal, err := conn.Deal(ctx, dealID)
	if err != nil {
		if err = crm.DomainError(err, true); clientele.ErrorCode(err) == clientele.NotFound {
			err = clientele.Errorf(clientele.NotFound, "no such deal in the CRM")
		}
		return Conversion{}, err
	}
	if deal.AccountID == "" {
		return Conversion{}, clientele.Errorf(clientele.Conflict, "the deal has no account in the CRM: give it one, whose company becomes the project's client")
	}
	account, err := conn.Account(ctx, deal.AccountID)
	if err != nil {
		return Conversion{}, crm.DomainError(err, true)
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
		p, err := clientele.NewProject(pi, s.Store.NewID(), s.Store.Now())
		if err != nil {
			return Conversion{}, err // a deal name that cannot name a project: name fixes it
		}
		project = &p
	}
	linked, err := s.Store.CRMHolders(ctx, pid, dynamo.CRMAccount, []string{account.ID})
	if err != nil {
		return Conversion{}, err
	}
	cid, err := s.accountCompany(ctx, pid, account, linked, by)
	if err != nil {
		return Conversion{}, err
	}
	// The company is read before the conversion commits: once it has, a
	// failed read would answer Unavailable for work that is done.
	c, err := s.Store.GetCompany(ctx, pid, cid)
	if err != nil {
		return Conversion{}, err
	}
	p, primary, err := s.Store.ConvertDeal(ctx, pid, dealID, project, existing.ID, cid, by)
	if err != nil {
		return Conversion{}, err
	}
	if !c.HasProject(p.ID) {
		c.ProjectIDs = append(c.ProjectIDs, p.ID)
		slices.Sort(c.ProjectIDs)
	}
	return Conversion{Project: p, Company: c, Primary: primary}, nil
}
