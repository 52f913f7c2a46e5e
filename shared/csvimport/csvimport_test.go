package csvimport_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/csvimport"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
)

var _ csvimport.Store = (*dynamo.Store)(nil)

const header = "email,name,company,projects,ratePerHour,profile\n"

// TestRun: for each file, a dry run writes nothing and answers what the
// real run then does; the real run creates the users and companies it
// counts, and only those; a second run skips every row it created and
// finds the same errors.
func TestRun(t *testing.T) {
	for _, c := range []struct {
		name                        string
		rows                        []string
		created, skipped, companies int
		errors                      []string // line field: message
		exist                       []string // the file's addresses that are users after the run
		check                       func(t *testing.T, f fixture)
	}{{
		name: "companies found, created and joined",
		rows: []string{
			"ann@example.com,Ann,Client Co,Hourly,120,",   // on Hourly already
			"bob@example.com,,New Co,Hourly; Fixed,,",     // a new company, on both projects
			"carl@example.com,,new co,Fixed,,Contributor", // the company of the line above, a custom profile
			"dora@example.com,,Client Co,Other,,",         // Client Co joins Other
		},
		created: 4, companies: 1,
		exist: []string{"ann@example.com", "bob@example.com", "carl@example.com", "dora@example.com"},
		check: func(t *testing.T, f fixture) {
			nc := f.company(t, "New Co")
			if !slices.Equal(nc.ProjectIDs, sorted(f.hourly, f.fixed)) {
				t.Errorf("New Co is on %v, want Hourly and Fixed", nc.ProjectIDs)
			}
			if u := f.user(t, "carl@example.com"); u.CompanyID != nc.ID || u.ProfileID != f.profile {
				t.Errorf("carl is in %s with profile %s, want %s with %s", u.CompanyID, u.ProfileID, nc.ID, f.profile)
			}
			if cc := f.company(t, "Client Co"); !slices.Equal(cc.ProjectIDs, sorted(f.hourly, f.fixed, f.other)) {
				t.Errorf("Client Co is on %v, want Hourly, Fixed and Other", cc.ProjectIDs)
			}
		},
	}, {
		name: "an address twice in the file",
		rows: []string{
			"ann@example.com,Ann,Client Co,,,",
			"ANN@example.com,Ann again,Client Co,,,",
		},
		created: 1,
		errors:  []string{"3 email: the address is on an earlier line of this file"},
		exist:   []string{"ann@example.com"},
	}, {
		name: "unknown profile and project, a rate on a fixed project",
		rows: []string{
			"ann@example.com,Ann,Client Co,,,admin",
			"bob@example.com,Bob,Another Co,Intranet,,", // its company is not created either
			"carl@example.com,Carl,Client Co,Fixed,50,",
			"dora@example.com,Dora,Client Co,,,",
		},
		created: 1,
		errors: []string{`2 profile: no profile named "admin"`, `3 projects: no project named "Intranet"`,
			`4 ratePerHour: project "Fixed": the project bills fixed: ratePerHour applies only to staff_hours projects`},
		exist: []string{"dora@example.com"},
	}, {
		name: "an existing address skipped, errors by line",
		rows: []string{
			"existing@example.com,,Client Co,,,",
			"short,row",
			"ann@example.com,Ann,Client Co,,,admin",
			"not-an-address,,Client Co,,,",
		},
		skipped: 1,
		errors:  []string{"3 row: has 2 fields, want 6", `4 profile: no profile named "admin"`, "5 email: the address is not a valid email address"},
		exist:   []string{"existing@example.com"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			file := []byte(header + strings.Join(c.rows, "\n") + "\n")
			im := csvimport.Importer{Store: f.st.Store}

			before := writes(f.st)
			dry, err := im.Run(ctx, stack.Portal, staff, file, true)
			if err != nil {
				t.Fatal(err)
			}
			if n := writes(f.st) - before; n != 0 || !dry.DryRun {
				t.Fatalf("the dry run made %d writes (dryRun %v)", n, dry.DryRun)
			}
			for _, email := range addresses(c.rows) {
				if id := f.userID(t, email); id != "" && email != "existing@example.com" {
					t.Fatalf("the dry run created %s", email)
				}
			}

			res, err := im.Run(ctx, stack.Portal, staff, file, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.DryRun || res.Created != c.created || res.Skipped != c.skipped || res.CompaniesCreated != c.companies {
				t.Errorf("result %+v, want created %d, skipped %d, companies %d", res, c.created, c.skipped, c.companies)
			}
			if got := lines(res.Errors); !slices.Equal(got, c.errors) {
				t.Errorf("errors\n%q\nwant\n%q", got, c.errors)
			}
			dry.DryRun = false
			if !reflect.DeepEqual(dry, res) {
				t.Errorf("dry run %+v\nreal run %+v", dry, res)
			}
			for _, email := range addresses(c.rows) {
				if exists := f.userID(t, email) != ""; exists != slices.Contains(c.exist, email) {
					t.Errorf("%s a user: %v", email, exists)
				}
			}
			if n := f.companies(t); n != 1+c.companies {
				t.Errorf("%d companies, want %d", n, 1+c.companies)
			}
			if c.check != nil {
				c.check(t, f)
			}

			before = writes(f.st)
			again, err := im.Run(ctx, stack.Portal, staff, file, false)
			if err != nil {
				t.Fatal(err)
			}
			if again.Created != 0 || again.CompaniesCreated != 0 || again.Skipped != res.Created+res.Skipped ||
				!slices.Equal(lines(again.Errors), c.errors) {
				t.Errorf("second run %+v, want every row of the first skipped", again)
			}
			if n := writes(f.st) - before; n != 0 {
				t.Errorf("the second run made %d writes", n)
			}
		})
	}
}

// TestRowRefusedByStore: a refusal of one row's write (here the seat
// limit, which only the write checks, so the dry run does not see it) is an
// error of its line, worded as the API words the refusal, and the rows
// after it go on.
func TestRowRefusedByStore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.st.Store.UpdatePortal(ctx, stack.Portal, func(cur clientele.Portal) (clientele.Portal, clientele.Changes, error) {
		limit := cur.SeatsUsed + 1
		cur.ClientSeatLimit = &limit
		return cur, clientele.Changes{"clientSeatLimit": {To: limit}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	file := []byte(header + "ann@example.com,,Client Co,,,\nbob@example.com,,Client Co,,,\nexisting@example.com,,Client Co,,,\n")
	res, err := csvimport.Importer{Store: f.st.Store}.Run(ctx, stack.Portal, staff, file, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"3 email: " + httpapi.Describe(clientele.LimitReached{Limit: clientele.SeatLimit}).Detail}
	if res.Created != 1 || res.Skipped != 1 || !slices.Equal(lines(res.Errors), want) {
		t.Errorf("result %+v, want 1 created, 1 skipped, errors %q", res, want)
	}
	if f.userID(t, "bob@example.com") != "" {
		t.Error("bob was created past the seat limit")
	}
}

// TestUnavailableStops: a store that is unavailable stops the import with
// its error, every earlier row done; once it is back, running the file
// again finishes the rest.
func TestUnavailableStops(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	file := []byte(header + "ann@example.com,,Client Co,,,\nbob@example.com,,Client Co,,,\n")
	im := csvimport.Importer{Store: f.st.Store}
	var n atomic.Int64
	f.st.FailDynamo(func(op string) bool { return op == "TransactWriteItems" && n.Add(1) > 1 }) // bob's CreateUser
	_, err := im.Run(ctx, stack.Portal, staff, file, false)
	f.st.FailDynamo(nil)
	if clientele.ErrorCode(err) != clientele.Unavailable {
		t.Fatalf("run with DynamoDB failing: %v, want unavailable", err)
	}
	if f.userID(t, "ann@example.com") == "" || f.userID(t, "bob@example.com") != "" {
		t.Fatal("the rows before the failure are not done, or the failed one is")
	}
	res, err := im.Run(ctx, stack.Portal, staff, file, false)
	if err != nil || res.Created != 1 || res.Skipped != 1 || len(res.Errors) != 0 {
		t.Fatalf("the run again: %+v, %v", res, err)
	}
}

// fixture is a portal with company Client Co on projects Hourly
// (staff_hours) and Fixed (fixed), project Other (staff_hours, no
// company), profile Contributor and user existing@example.com.
type fixture struct {
	st                   *stack.Stack
	hourly, fixed, other string
	profile              string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{})
	must(err)
	t.Cleanup(st.Close)
	s, f := st.Store, fixture{st: st}
	c, err := clientele.NewCompany(clientele.CompanyInput{Name: "Client Co"}, "", s.NewID(), s.Now())
	must(err)
	_, err = s.CreateCompany(ctx, stack.Portal, c, staff, nil)
	must(err)
	project := func(name, billing string, companies ...string) string {
		p, err := clientele.NewProject(clientele.ProjectInput{Name: name, Billing: billing, CompanyIDs: companies}, s.NewID(), s.Now())
		must(err)
		_, err = s.CreateProject(ctx, stack.Portal, p, staff, nil)
		must(err)
		return p.ID
	}
	f.hourly = project("Hourly", clientele.StaffHours, c.ID)
	f.fixed = project("Fixed", "fixed", c.ID)
	f.other = project("Other", clientele.StaffHours)
	name := "Contributor"
	p, err := clientele.NewProfile(clientele.ProfileInput{Name: &name, Permissions: clientele.ViewOnly()}, s.NewID(), s.Now())
	must(err)
	must(s.CreateProfile(ctx, stack.Portal, p, nil))
	f.profile = p.ID
	now := s.Now()
	must(s.CreateUser(ctx, stack.Portal, clientele.User{ID: s.NewID(), Email: "existing@example.com", CompanyID: c.ID,
		ProfileID: clientele.BuiltInProfile, Status: clientele.Invited, PortalAccess: true, Preferences: clientele.DefaultPreferences,
		CreatedAt: now, UpdatedAt: now, Version: 1}, "", staff))
	return f
}

func (f fixture) userID(t *testing.T, email string) string {
	t.Helper()
	id, err := f.st.Store.UserIDByEmail(context.Background(), stack.Portal, email)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f fixture) user(t *testing.T, email string) clientele.User {
	t.Helper()
	u, err := f.st.Store.GetUser(context.Background(), stack.Portal, f.userID(t, email))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f fixture) company(t *testing.T, name string) clientele.Company {
	t.Helper()
	ctx := context.Background()
	id, err := f.st.Store.CompanyIDByName(ctx, stack.Portal, name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.st.Store.GetCompany(ctx, stack.Portal, id)
	if err != nil {
		t.Fatalf("company %q: %v", name, err)
	}
	return c
}

func (f fixture) companies(t *testing.T) int {
	t.Helper()
	p, err := f.st.Store.ListCompanies(context.Background(), stack.Portal, "", 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Items)
}

// writes counts the stack's DynamoDB write requests so far.
func writes(st *stack.Stack) int64 {
	ops := st.DynamoCallsByOp()
	return ops["PutItem"] + ops["UpdateItem"] + ops["DeleteItem"] + ops["BatchWriteItem"] + ops["TransactWriteItems"]
}

// addresses are the first fields of rows.
func addresses(rows []string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.ToLower(strings.SplitN(r, ",", 2)[0]))
	}
	return out
}

func lines(errs []clientele.ImportError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, fmt.Sprintf("%d %s: %s", e.Line, e.Field, e.Message))
	}
	return out
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

var staff = clientele.Actor{Type: "staff", ID: "o"}
