package api_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func (e *env) importCSV(file, query string) resp {
	e.t.Helper()
	return e.call("POST", "/v1/imports"+query, e.owner, file, "Content-Type", "text/csv; charset=utf-8")
}

// TestImport: rows checked one by one (line, field, message); missing
// companies created, projects matched by name; a dry run reports the same
// outcome and writes nothing; re-running the file changes nothing.
func TestImport(t *testing.T) {
	e := newUsersEnv(t)
	e.addUser("existing@example.com")
	prof := e.profile("Contributor", map[string]any{"tasks": []string{"view", "create"}})
	file := strings.Join([]string{
		"email,name,company,projects,ratePerHour,profile",
		"ann@example.com,Ann Lee,Client Co,Hourly,120,client", // existing company, already on Hourly
		"bob@example.com,,New Co,Hourly; fixed,,",             // a new company, on both projects
		"carl@example.com,Carl,new co,Fixed,,",                // the company created by the line above
		"existing@example.com,,Client Co,,,",                  // skipped
		"not-an-address,X,Client Co,,,",                       // line 6: email
		"dora@example.com,Dora,Client Co,Intranet,,",          // line 7: unknown project
		"edith@example.com,Edith,Client Co,Fixed,50,",         // line 8: rate on a fixed project
		"ann@example.com,Ann again,Client Co,,,",              // line 9: twice in the file
		"frank@example.com,Frank,Client Co,,,admin",           // line 10: unknown profile
		`"grace@example.com","Grace, ""G""",Client Co,,,`,     // quoted fields
		"short,row", // line 12: field count
		"hana@example.com,Hana,Client Co,,, contributor ", // a custom profile, by name
	}, "\r\n") + "\r\n"
	wantErrors := []string{"6 email", "7 projects", "8 ratePerHour", "9 email", "10 profile", "12 row"}

	dry := e.importCSV(file, "?dryRun=true")
	want(t, dry, 200)
	users := func() int { return len(e.call("GET", "/v1/users", e.owner, nil).JSON()["items"].([]any)) }
	if n := users(); n != 1 {
		t.Fatalf("the dry run wrote users: %d", n)
	}
	real := e.importCSV(file, "")
	want(t, real, 200)
	for _, r := range []resp{dry, real} {
		j := r.JSON()
		if j["created"] != float64(5) || j["skipped"] != float64(1) || j["companiesCreated"] != float64(1) {
			t.Errorf("outcome %s", r.Body)
		}
		var got []string
		for _, x := range j["errors"].([]any) {
			m := x.(map[string]any)
			got = append(got, fmt.Sprintf("%v %v", m["line"], m["field"]))
		}
		if !reflect.DeepEqual(got, wantErrors) {
			t.Errorf("errors %v, want %v (%s)", got, wantErrors, r.Body)
		}
	}
	dj, rj := dry.JSON(), real.JSON()
	delete(dj, "dryRun")
	delete(rj, "dryRun")
	if !reflect.DeepEqual(dj, rj) {
		t.Errorf("dry run %v\nreal run %v", dj, rj)
	}
	if n := users(); n != 6 {
		t.Errorf("%d users, want 6", n)
	}
	if h := e.call("GET", "/v1/users?q=hana", e.owner, nil).JSON()["items"].([]any)[0].(map[string]any); h["profileId"] != prof {
		t.Errorf("hana's profile %v, want %s", h["profileId"], prof)
	}
	// Bob's new company is on both projects; his user on both.
	q := e.call("GET", "/v1/users?q=bob", e.owner, nil).JSON()["items"].([]any)[0].(map[string]any)
	if len(q["projects"].([]any)) != 2 || q["status"] != "invited" || q["portalAccess"] != true {
		t.Errorf("bob %v", q)
	}
	c := e.call("GET", "/v1/companies/"+q["companyId"].(string), e.owner, nil).JSON()
	if c["name"] != "New Co" || len(c["projectIds"].([]any)) != 2 || c["userCount"] != float64(2) {
		t.Errorf("new company %v", c)
	}
	g := e.call("GET", "/v1/users?q=grace", e.owner, nil).JSON()["items"].([]any)[0].(map[string]any)
	if g["name"] != `Grace, "G"` {
		t.Errorf("grace %v", g["name"])
	}
	if len(e.st.Mail.Messages()) != 1 {
		t.Errorf("imports send no email; %d sent", len(e.st.Mail.Messages()))
	}

	// Again: nothing changes.
	again := e.importCSV(file, "").JSON()
	if again["created"] != float64(0) || again["skipped"] != float64(6) || again["companiesCreated"] != float64(0) || users() != 6 {
		t.Errorf("re-run %v", again)
	}
	e.consistent()
}

func TestImportRefusals(t *testing.T) {
	e := newEnv(t)
	header := "email,name,company,projects,ratePerHour,profile\n"
	big := header + strings.Repeat("a@example.com,A,Co,,,\n", 1001)
	huge := header + strings.Repeat("x", 1<<20)
	for _, c := range []struct {
		name, file, query, contentType string
		status                         int
	}{
		{"JSON", `{"email":"a@example.com"}`, "", "application/json", 415},
		{"no content type", header, "", "", 415},
		{"too many rows", big, "", "text/csv", 413},
		{"too many bytes", huge, "", "text/csv", 413},
		{"wrong header", "email,name\na@example.com,A\n", "", "text/csv", 400},
		{"empty", "", "", "text/csv", 400},
		{"bad CSV", header + "\"a@example.com,A,Co,,,\n", "", "text/csv", 400},
		{"bad dryRun", header, "?dryRun=yes", "text/csv", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("POST", "/v1/imports"+c.query, e.owner, c.file, "Content-Type", c.contentType)
			want(t, r, c.status)
		})
	}
	if n := len(e.call("GET", "/v1/users", e.owner, nil).JSON()["items"].([]any)); n != 0 {
		t.Errorf("refused imports wrote %d users", n)
	}
}
