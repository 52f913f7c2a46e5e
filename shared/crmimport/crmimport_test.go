package crmimport_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	localcrm "github.com/clientele/clientele/infra/local/crm"
	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/crm"
	"github.com/clientele/clientele/shared/crmimport"
	"github.com/clientele/clientele/shared/dynamo"
)

var _ crmimport.Store = (*dynamo.Store)(nil)

var staff = clientele.Actor{Type: "staff", ID: "o"}

// env is a local stack whose demo portal reads the stack's CRM stand-in
// through the real Zoho connector.
type env struct {
	t      *testing.T
	st     *stack.Stack
	imp    crmimport.Imports
	opened atomic.Int64 // calls of Connect
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := stack.Start(context.Background(), stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	l := localcrm.Local()
	conn, err := crm.New(crm.Credentials{Provider: "zoho", APIDomain: st.CRMURL, AccountsURL: st.CRMURL,
		ClientID: l.ClientID, ClientSecret: l.ClientSecret, RefreshToken: l.RefreshToken}, crm.WithClock(st.Store.Now))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st}
	e.imp = crmimport.Imports{Store: st.Store, Invitations: st.Invitations("https://api.example.com"),
		Connect: func(context.Context, string) (crm.Connector, error) { e.opened.Add(1); return conn, nil }}
	return e
}

// ids are the stand-in's contacts of addresses or last names.
func (e *env) ids(keys ...string) []string {
	e.t.Helper()
	var out []string
	for _, k := range keys {
		out = append(out, find(e.t, k, e.st.CRM.Describe("").Contacts, func(c localcrm.Contact) bool { return c.Email == k || c.LastName == k }).ID)
	}
	return out
}

func (e *env) deal(name string) localcrm.Deal {
	e.t.Helper()
	return find(e.t, name, e.st.CRM.Describe("").Deals, func(d localcrm.Deal) bool { return d.Name == name })
}

// find is the stand-in's record that matches, named key.
func find[T any](t *testing.T, key string, records []T, match func(T) bool) T {
	t.Helper()
	i := slices.IndexFunc(records, match)
	if i < 0 {
		t.Fatalf("no CRM record %s", key)
	}
	return records[i]
}

func (e *env) importContacts(in clientele.CRMImportInput) (crmimport.Result, error) {
	return e.imp.Contacts(context.Background(), stack.Portal, in, staff)
}

func (e *env) users() []clientele.User {
	e.t.Helper()
	p, err := e.st.Store.ListUsers(context.Background(), stack.Portal, dynamo.UserScope{}, "", "", 100, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

func (e *env) companies() map[string]clientele.Company { // by name
	e.t.Helper()
	p, err := e.st.Store.ListCompanies(context.Background(), stack.Portal, "", 100, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]clientele.Company{}
	for _, c := range p.Items {
		out[c.Name] = c
	}
	return out
}

func (e *env) projects() []clientele.Project {
	e.t.Helper()
	p, err := e.st.Store.ListProjects(context.Background(), stack.Portal, 100, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

func (e *env) createProject(name string) clientele.Project {
	e.t.Helper()
	p, err := clientele.NewProject(clientele.ProjectInput{Name: name}, e.st.Store.NewID(), e.st.Store.Now())
	if err == nil {
		p, err = e.st.Store.CreateProject(context.Background(), stack.Portal, p, staff, nil)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) createCompany(name string) clientele.Company {
	e.t.Helper()
	c, err := clientele.NewCompany(clientele.CompanyInput{Name: name}, "", e.st.Store.NewID(), e.st.Store.Now())
	if err == nil {
		c, err = e.st.Store.CreateCompany(context.Background(), stack.Portal, c, staff, nil)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) nothingWritten() {
	e.t.Helper()
	if u, c, p := e.users(), e.companies(), e.projects(); len(u)+len(c)+len(p) != 0 || len(e.st.Mail.Messages()) != 0 {
		e.t.Errorf("written: %d users, %d companies, %d projects, %d mails", len(u), len(c), len(p), len(e.st.Mail.Messages()))
	}
}

func TestContacts(t *testing.T) {
	for _, tc := range []struct {
		name string
		// run prepares the stack, imports, and checks the outcome.
		run func(t *testing.T, e *env)
	}{
		{"users in their account's company, joined to the projects but not as primary", func(t *testing.T, e *env) {
			p := e.createProject("Website relaunch")
			res, err := e.importContacts(clientele.CRMImportInput{ContactIDs: e.ids("alice@acme.example", "bob@acme.example", "kim@freelance.example"), ProjectIDs: []string{p.ID}})
			if err != nil || len(res.Created) != 3 || len(res.Skipped)+len(res.Failed) != 0 {
				t.Fatalf("%+v, %v", res, err)
			}
			companies := e.companies()
			acme, kim := companies["Acme Corp"], companies["Kim Kowalski"]
			if acme.CRM == nil || acme.CRM.AccountID == "" || acme.Website == nil || *acme.Website != "https://acme.example" ||
				acme.Address.City == nil || *acme.Address.City != "San Francisco" || kim.Type != clientele.Individual || len(companies) != 2 {
				t.Errorf("companies: %+v", companies)
			}
			for i, want := range []string{acme.ID, acme.ID, kim.ID} {
				u := res.Created[i]
				if u.CompanyID != want || u.CRM == nil || u.CRM.ContactID != e.ids(u.Email)[0] || len(u.Projects) != 1 || u.Projects[0].ProjectID != p.ID || u.Invite == nil {
					t.Errorf("user %d: %+v", i, u)
				}
			}
			got := e.projects()[0]
			if got.PrimaryCompanyID != nil || !slices.Equal(got.CompanyIDs, sorted(acme.ID, kim.ID)) {
				t.Errorf("the import decided the project's client: %+v", got)
			}
			if n := len(e.st.Mail.Messages()); n != 3 {
				t.Errorf("%d invitations", n)
			}
		}},
		{"an address already held is skipped with its user", func(t *testing.T, e *env) {
			cid := e.createCompany("Someone else").ID
			req, err := clientele.UsersInput{Emails: []string{"Eva@globex.example"}, CompanyID: cid}.Validate()
			if err != nil {
				t.Fatal(err)
			}
			ac, err := e.st.Store.ReadAddContext(context.Background(), stack.Portal, cid, nil, nil, nil, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			eva := e.imp.Invitations.AddAll(context.Background(), ac, req, staff).Created[0]
			res, err := e.importContacts(clientele.CRMImportInput{ContactIDs: e.ids("eva@globex.example")})
			want := []crmimport.Existing{{CRMID: e.ids("eva@globex.example")[0], Reason: crmimport.ReasonAddress, UserID: eva.ID}}
			if err != nil || !slices.Equal(res.Skipped, want) || len(res.Created)+len(res.Failed) != 0 || len(e.users()) != 1 {
				t.Errorf("%+v, %v; want skipped %+v", res, err, want)
			}
		}},
		{"a re-run skips every imported contact and writes nothing", func(t *testing.T, e *env) {
			ids := e.ids("alice@acme.example", "dieter@globex.example", "kim@freelance.example")
			first, err := e.importContacts(clientele.CRMImportInput{ContactIDs: ids})
			if err != nil || len(first.Created) != 3 {
				t.Fatalf("first run: %+v, %v", first, err)
			}
			mails, calls := len(e.st.Mail.Messages()), e.st.DynamoCallsByOp()["TransactWriteItems"]
			again, err := e.importContacts(clientele.CRMImportInput{ContactIDs: ids})
			var want []crmimport.Existing
			for i, u := range first.Created {
				want = append(want, crmimport.Existing{CRMID: ids[i], Reason: crmimport.ReasonImported, UserID: u.ID})
			}
			if err != nil || !slices.Equal(again.Skipped, want) || len(again.Created)+len(again.Failed) != 0 {
				t.Errorf("re-run: %+v, %v; want skipped %+v", again, err, want)
			}
			if len(e.st.Mail.Messages()) != mails || e.st.DynamoCallsByOp()["TransactWriteItems"] != calls {
				t.Errorf("the re-run wrote or mailed")
			}
		}},
		{"a contact that cannot be imported fails alone", func(t *testing.T, e *env) {
			e.st.CRM.AddContact(localcrm.Contact{LastName: "Dangling", Email: "dan@gone.example", AccountID: "4150868000000999998"})
			long := e.st.CRM.AddAccount(localcrm.Account{Name: strings.Repeat("x", clientele.MaxNameLen+1)})
			e.st.CRM.AddContact(localcrm.Contact{LastName: "Longname", Email: "lee@long.example", AccountID: long.ID})
			unknown := "4150868000000999999"
			res, err := e.importContacts(clientele.CRMImportInput{ContactIDs: append(e.ids("Fischer", "alice@acme.example", "Dangling", "Longname"), unknown)})
			if err != nil || len(res.Created) != 1 || res.Created[0].Email != "alice@acme.example" {
				t.Fatalf("%+v, %v", res, err)
			}
			// The unknown contact fails while reading, the others while writing.
			want := map[string]string{unknown: "no such record in the CRM", e.ids("Fischer")[0]: "the CRM contact's email address is required",
				e.ids("Dangling")[0]: "the CRM contact's account 4150868000000999998 is not in the CRM",
				e.ids("Longname")[0]: "the CRM account \"" + long.Name + "\" cannot be a company: the request has invalid fields"}
			if len(res.Failed) != len(want) || res.Failed[0].CRMID != unknown {
				t.Fatalf("failed %+v", res.Failed)
			}
			for _, f := range res.Failed {
				if got := clientele.Detail(f.Err); got != want[f.CRMID] {
					t.Errorf("%s failed with %q, want %q", f.CRMID, got, want[f.CRMID])
				}
			}
			if n := len(e.companies()); n != 1 {
				t.Errorf("%d companies, want Acme alone", n)
			}
		}},
		{"an account's website that is not a URL is left out", func(t *testing.T, e *env) {
			a := e.st.CRM.AddAccount(localcrm.Account{Name: "Free Text Ltd", Website: "call us"})
			k := e.st.CRM.AddContact(localcrm.Contact{LastName: "Text", Email: "tex@free.example", AccountID: a.ID})
			res, err := e.importContacts(clientele.CRMImportInput{ContactIDs: []string{k.ID}})
			c, ok := e.companies()["Free Text Ltd"]
			if err != nil || len(res.Created) != 1 || !ok || c.Website != nil || c.CRM == nil || c.CRM.AccountID != a.ID {
				t.Errorf("%+v, %v; company %+v", res, err, c)
			}
		}},
		{"seats running out fail the contacts past the limit", func(t *testing.T, e *env) {
			if _, err := e.st.Store.UpdatePortal(context.Background(), stack.Portal, func(cur clientele.Portal) (clientele.Portal, clientele.Changes, error) {
				one := 1
				cur.ClientSeatLimit = &one
				return cur, clientele.Changes{"clientSeatLimit": {To: one}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			res, err := e.importContacts(clientele.CRMImportInput{ContactIDs: e.ids("alice@acme.example", "bob@acme.example")})
			if err != nil || len(res.Created) != 1 || len(res.Failed) != 1 || res.Failed[0].CRMID != e.ids("bob@acme.example")[0] {
				t.Fatalf("%+v, %v", res, err)
			}
			if _, ok := errors.AsType[clientele.LimitReached](res.Failed[0].Err); !ok {
				t.Errorf("bob failed with %v, want the seat limit", res.Failed[0].Err)
			}
		}},
		{"the CRM failing while reading writes nothing", func(t *testing.T, e *env) {
			ids := e.ids("alice@acme.example", "dieter@globex.example", "grace@initech.example")
			e.st.CRM.Fail(func(r *http.Request) (int, string, http.Header, bool) {
				return 429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"slow down","status":"error"}`, http.Header{"Retry-After": {"7"}},
					strings.HasSuffix(r.URL.Path, ids[2])
			})
			res, err := e.importContacts(clientele.CRMImportInput{ContactIDs: ids})
			if ce, ok := errors.AsType[*clientele.Error](err); !ok || ce.Code != clientele.Unavailable || ce.Kind != "crm-unavailable" || ce.RetryAfter.Seconds() != 7 {
				t.Fatalf("%+v, %v", res, err)
			}
			if calls := e.st.CRM.Calls(); calls["/crm/v2/Contacts/"+ids[0]] == 0 || calls["/crm/v2/Contacts/"+ids[1]] == 0 {
				t.Errorf("the failure was not midway: %v", calls)
			}
			e.nothingWritten()
		}},
		{"the store unavailable while writing aborts, what is done stays done", func(t *testing.T, e *env) {
			ids := e.ids("alice@acme.example", "bob@acme.example")
			var writes atomic.Int64
			e.st.FailDynamo(func(op string) bool { return op == "TransactWriteItems" && writes.Add(1) > 1 }) // the company, not the user
			_, err := e.importContacts(clientele.CRMImportInput{ContactIDs: ids})
			e.st.FailDynamo(nil)
			if clientele.ErrorCode(err) != clientele.Unavailable {
				t.Fatalf("a failed write answered %v", err)
			}
			if _, ok := e.companies()["Acme Corp"]; !ok || len(e.users()) != 0 {
				t.Errorf("after the failure: companies %v, %d users", e.companies(), len(e.users()))
			}
			res, err := e.importContacts(clientele.CRMImportInput{ContactIDs: ids})
			if err != nil || len(res.Created) != 2 || len(e.companies()) != 1 {
				t.Errorf("the retry: %+v, %v, companies %v", res, err, e.companies())
			}
		}},
		{"unknown targets are refused before the CRM is opened", func(t *testing.T, e *env) {
			other := e.st.Store.NewID() // no such profile
			_, err := e.importContacts(clientele.CRMImportInput{ContactIDs: e.ids("alice@acme.example"), ProfileID: &other, ProjectIDs: []string{e.st.Store.NewID()}})
			ce, ok := errors.AsType[*clientele.Error](err)
			if !ok || ce.Code != clientele.Invalid || len(ce.Fields) != 2 || ce.Fields[0].Field != "profileId" || ce.Fields[1].Field != "projectIds[0]" {
				t.Fatalf("%v (%+v)", err, ce)
			}
			if e.opened.Load() != 0 || len(e.st.CRM.Calls()) != 0 {
				t.Errorf("the CRM was opened (%d) or called (%v)", e.opened.Load(), e.st.CRM.Calls())
			}
			e.nothingWritten()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newEnv(t))
		})
	}
}

func TestConvertDeal(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"a new project named after the deal, its account's company primary", func(t *testing.T, e *env) {
			d := e.deal("Acme website relaunch")
			c, err := e.imp.ConvertDeal(ctx, stack.Portal, d.ID, clientele.DealConversionInput{}, staff)
			if err != nil || c.Project.Name != d.Name || !c.Primary || c.Company.Name != "Acme Corp" || c.Company.CRM == nil ||
				c.Project.PrimaryCompanyID == nil || *c.Project.PrimaryCompanyID != c.Company.ID || !slices.Contains(c.Company.ProjectIDs, c.Project.ID) ||
				c.Project.CRM == nil || !slices.Contains(c.Project.CRM.DealIDs, d.ID) {
				t.Fatalf("%+v, %v", c, err)
			}
			_, err = e.imp.ConvertDeal(ctx, stack.Portal, d.ID, clientele.DealConversionInput{}, staff)
			if held, ok := errors.AsType[clientele.DealConverted](err); !ok || held.ProjectID != c.Project.ID {
				t.Errorf("a second conversion: %v", err)
			}
			if n := len(e.projects()); n != 1 {
				t.Errorf("%d projects", n)
			}
		}},
		{"into a project that has a primary, the company joins it", func(t *testing.T, e *env) {
			p, hooli := e.createProject("Support"), e.createCompany("Hooli")
			if _, _, err := e.st.Store.AddCompany(ctx, stack.Portal, p.ID, hooli.ID, nil, nil, staff, nil); err != nil {
				t.Fatal(err)
			}
			c, err := e.imp.ConvertDeal(ctx, stack.Portal, e.deal("Initech support renewal").ID, clientele.DealConversionInput{ProjectID: &p.ID}, staff)
			if err != nil || c.Primary || c.Project.ID != p.ID || *c.Project.PrimaryCompanyID != hooli.ID || !slices.Contains(c.Project.CompanyIDs, c.Company.ID) {
				t.Errorf("%+v, %v", c, err)
			}
		}},
		{"the CRM down writes nothing", func(t *testing.T, e *env) {
			e.st.CRM.Down(true)
			_, err := e.imp.ConvertDeal(ctx, stack.Portal, e.deal("Globex onboarding").ID, clientele.DealConversionInput{}, staff)
			if clientele.ErrorCode(err) != clientele.Unavailable {
				t.Errorf("%v", err)
			}
			e.nothingWritten()
		}},
		{"a deal without an account is refused, nothing written", func(t *testing.T, e *env) {
			d := e.st.CRM.AddDeal(localcrm.Deal{Name: "Freelance gig", Stage: "Qualification"})
			_, err := e.imp.ConvertDeal(ctx, stack.Portal, d.ID, clientele.DealConversionInput{}, staff)
			if clientele.ErrorCode(err) != clientele.Conflict {
				t.Errorf("%v", err)
			}
			e.nothingWritten()
		}},
		{"an unknown project is refused before the CRM is opened", func(t *testing.T, e *env) {
			prid := e.st.Store.NewID()
			_, err := e.imp.ConvertDeal(ctx, stack.Portal, e.deal("Globex onboarding").ID, clientele.DealConversionInput{ProjectID: &prid}, staff)
			if clientele.ErrorCode(err) != clientele.NotFound || e.opened.Load() != 0 {
				t.Errorf("%v; opened %d", err, e.opened.Load())
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newEnv(t))
		})
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }
