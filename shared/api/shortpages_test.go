package api_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/clientele/clientele/infra/dynamodblocal"
)

// TestShortPages: DynamoDB may end any Query page early (its 1 MB cap)
// with a LastEvaluatedKey. With every Query and Scan answered one item per
// page, lists page through everything by cursor, an export has every user,
// a cascading delete removes everything, and the reminders reach every
// due user.
func TestShortPages(t *testing.T) {
	e := newExportsEnv(t)
	// Tokens made when used: the clock moves past their lifetime.
	reader := func() string { return e.st.Token("demo", "member", "m") }
	owner := func() string { return e.st.Token("demo", "owner", "o") }
	e.st.Dynamo.Inject(func(r dynamodblocal.Request) *dynamodblocal.Fault {
		return &dynamodblocal.Fault{Limit: 1}
	})
	defer e.st.Dynamo.Inject(nil)

	// all pages through path; pages counts the requests it took.
	pages := 0
	all := func(path string) []string {
		t.Helper()
		var ids []string
		pages = 0
		for cursor := ""; ; {
			pages++
			sep := "?"
			if slices.Contains([]byte(path), '?') {
				sep = "&"
			}
			p := path + sep + "limit=50"
			if cursor != "" {
				p += "&cursor=" + url.QueryEscape(cursor)
			}
			r := e.call("GET", p, reader(), nil)
			want(t, r, 200)
			for _, it := range r.JSON()["items"].([]any) {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			next, _ := r.JSON()["nextCursor"].(string)
			if next == "" {
				return ids
			}
			if pages > 100 {
				t.Fatalf("%s: no end after %d pages", path, pages)
			}
			cursor = next
		}
	}
	tests := []struct {
		path string
		want int
	}{
		{"/v1/companies", 2},
		{"/v1/projects", 4},
		{"/v1/users", 7},
		{"/v1/companies/" + e.evil + "/users", 5},
		{"/v1/projects/" + e.site + "/users", 6},
		{"/v1/users?status=invited", 7},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ids := all(tt.path)
			if pages < tt.want {
				t.Fatalf("%d items in %d pages: the pages were not cut short", len(ids), pages)
			}
			slices.Sort(ids)
			if len(slices.Compact(ids)) != tt.want || len(ids) != tt.want {
				t.Fatalf("%d items (%d distinct), want %d", len(ids), len(slices.Compact(ids)), tt.want)
			}
		})
	}

	t.Run("export", func(t *testing.T) {
		id := e.requestExport(map[string]any{"scope": "portal"})
		e.waitExports()
		body, _ := e.download(id)
		if rows := parseCSV(t, body); len(rows) != 7 {
			t.Fatalf("%d rows, want 7:\n%s", len(rows), body)
		}
	})

	t.Run("reminders", func(t *testing.T) {
		e.clock.Advance(25 * time.Hour)
		if run := e.runReminders(); run.Sent != 7 || run.Failed != 0 {
			t.Fatalf("run %+v, want 7 sent", run)
		}
	})

	t.Run("cascading delete", func(t *testing.T) {
		want(t, e.call("DELETE", "/v1/companies/"+e.evil, owner(), nil), 204)
		if ids := all("/v1/users"); len(ids) != 2 {
			t.Fatalf("%d users left, want the 2 of the other company", len(ids))
		}
		want(t, e.call("GET", "/v1/companies/"+e.evil, owner(), nil), 404)
		for _, p := range []string{e.site, e.app} {
			r := e.call("GET", "/v1/projects/"+p, owner(), nil)
			want(t, r, 200)
			if slices.Contains(strs(r.JSON()["companyIds"]), e.evil) {
				t.Fatalf("project %s still lists the deleted company: %s", p, r.Body)
			}
		}
	})
	e.st.Dynamo.Inject(nil)
	e.consistent()
}
