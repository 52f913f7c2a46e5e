package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// consistent fails the test if any invariant of the table is broken.
func (e *env) consistent() {
	e.t.Helper()
	e.checkTable(e.st.CheckConsistency)
}

// consistentMidway is consistent after a cascade stopped midway.
func (e *env) consistentMidway() {
	e.t.Helper()
	e.checkTable(e.st.CheckConsistencyMidway)
}

func (e *env) checkTable(check func(context.Context) ([]string, error)) {
	e.t.Helper()
	problems, err := check(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(problems) > 0 {
		e.t.Fatalf("table is inconsistent:\n%s", strings.Join(problems, "\n"))
	}
}

func TestCompanyLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/v1/companies", e.owner, map[string]any{
		"name": "  Globex  ", "type": "business", "contactEmail": " Hank@GLOBEX.Example ", "website": "https://globex.example/",
		"address": map[string]any{"city": "Springfield", "country": "US"},
	})
	want(t, r, 201)
	c := r.JSON()
	id := c["id"].(string)
	if r.Header.Get("Location") != "/v1/companies/"+id || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("Location %q ETag %q", r.Header.Get("Location"), r.Header.Get("ETag"))
	}
	if c["name"] != "Globex" || c["contactEmail"] != "Hank@globex.example" || c["website"] != "https://globex.example" ||
		c["userCount"].(float64) != 0 || c["createUserGroup"] != false {
		t.Fatalf("normalised company %v", c)
	}
	got := e.call("GET", "/v1/companies/"+id, e.owner, nil)
	want(t, got, 200)
	if string(got.Body) != string(r.Body) {
		t.Fatalf("GET differs from the create answer:\n%s\n%s", got.Body, r.Body)
	}
	r = e.call("PATCH", "/v1/companies/"+id, e.owner, map[string]any{"name": "Globex Corp", "contactEmail": nil, "address": nil})
	want(t, r, 200)
	if c := r.JSON(); c["name"] != "Globex Corp" || c["contactEmail"] != nil || c["address"].(map[string]any)["city"] != nil {
		t.Fatalf("patched %v", c)
	}
	// A PATCH that changes nothing writes nothing and keeps the version.
	r = e.call("PATCH", "/v1/companies/"+id, e.owner, map[string]any{"name": "Globex Corp"})
	if r.JSON()["version"].(float64) != 2 {
		t.Fatalf("no-op patch bumped the version: %s", r.Body)
	}
	h := e.call("GET", "/v1/companies/"+id+"/history", e.owner, nil)
	want(t, h, 200)
	items := h.JSON()["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("history %s", h.Body)
	}
	newest, oldest := items[0].(map[string]any), items[1].(map[string]any)
	if newest["action"] != "company.updated" || oldest["action"] != "company.created" {
		t.Fatalf("history order %v, %v", newest["action"], oldest["action"])
	}
	ch := newest["changes"].(map[string]any)
	if name := ch["name"].(map[string]any); name["from"] != "Globex" || name["to"] != "Globex Corp" {
		t.Fatalf("changes %v", ch)
	}
	if _, ok := ch["contactEmail"]; !ok {
		t.Fatalf("changes %v lack contactEmail", ch)
	}
	if actor := newest["actor"].(map[string]any); actor["type"] != "staff" || actor["id"] != "owner-1" {
		t.Fatalf("actor %v", actor)
	}
	want(t, e.call("DELETE", "/v1/companies/"+id, e.owner, nil), 204)
	want(t, e.call("GET", "/v1/companies/"+id, e.owner, nil), 404)
	want(t, e.call("GET", "/v1/companies/"+id+"/history", e.owner, nil), 404)
	want(t, e.call("DELETE", "/v1/companies/"+id, e.owner, nil), 404)
	e.consistent()
}

func TestCompanyHistoryPages(t *testing.T) {
	e := newEnv(t)
	id := e.createCompany("Pages")
	for i := range 4 {
		want(t, e.call("PATCH", "/v1/companies/"+id, e.owner, map[string]any{"website": fmt.Sprintf("https://v%d.example", i)}), 200)
	}
	var actions []string
	cursor := ""
	for {
		path := "/v1/companies/" + id + "/history?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.call("GET", path, e.owner, nil)
		want(t, r, 200)
		for _, it := range r.JSON()["items"].([]any) {
			m := it.(map[string]any)
			actions = append(actions, m["action"].(string)+":"+fmt.Sprint(m["changes"].(map[string]any)["website"]))
		}
		if cursor = r.String("nextCursor"); cursor == "" {
			break
		}
	}
	if len(actions) != 5 || !strings.HasPrefix(actions[0], "company.updated") || !strings.Contains(actions[0], "v3") || !strings.HasPrefix(actions[4], "company.created") {
		t.Fatalf("history %v", actions)
	}
}

func TestCompanyNameUnique(t *testing.T) {
	e := newEnv(t)
	id := e.createCompany("Initech")
	tests := []string{"Initech", "initech", "  INITECH ", "Ini\u0074ech"}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			r := e.call("POST", "/v1/companies", e.owner, map[string]any{"name": name})
			want(t, r, 409)
			if r.String("existingCompanyId") != id {
				t.Fatalf("problem %s lacks existingCompanyId", r.Body)
			}
		})
	}
	t.Run("whitespace runs collapse", func(t *testing.T) {
		e.createCompany("Acme   Widgets")
		want(t, e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "acme widgets"}), 409)
	})
	t.Run("another portal may use the name", func(t *testing.T) {
		want(t, e.call("POST", "/v1/companies", e.st.Token("elsewhere", "owner", "x"), map[string]any{"name": "Initech"}), 201)
	})
	t.Run("rename to a taken name", func(t *testing.T) {
		other := e.createCompany("Hooli")
		want(t, e.call("PATCH", "/v1/companies/"+other, e.owner, map[string]any{"name": "INITECH"}), 409)
		// Renaming moves the guard: the old name is free, the new one taken.
		want(t, e.call("PATCH", "/v1/companies/"+other, e.owner, map[string]any{"name": "Hooli XYZ"}), 200)
		e.createCompany("Hooli")
		want(t, e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "hooli xyz"}), 409)
		// Changing only the case keeps the company's own name.
		want(t, e.call("PATCH", "/v1/companies/"+other, e.owner, map[string]any{"name": "HOOLI xyz"}), 200)
	})
	t.Run("20 parallel creates of one name make one company", func(t *testing.T) {
		results := parallel(20, func(i int) resp {
			r, err := e.try("POST", "/v1/companies", e.owner, map[string]any{"name": fmt.Sprintf("Raced%s", strings.Repeat(" ", i%3))})
			if err != nil {
				t.Error(err)
			}
			return r
		})
		var statuses []int
		for _, r := range results {
			statuses = append(statuses, r.Status)
		}
		slices.Sort(statuses)
		if statuses[0] != 201 || statuses[1] != 409 || statuses[19] != 409 {
			t.Fatalf("statuses %v, want one 201 and 19 409", statuses)
		}
	})
	t.Run("parallel renames to one name", func(t *testing.T) {
		ids := make([]string, 10)
		for i := range ids {
			ids[i] = e.createCompany(fmt.Sprintf("Renamer %d", i))
		}
		results := parallel(10, func(i int) resp {
			r, err := e.try("PATCH", "/v1/companies/"+ids[i], e.owner, map[string]any{"name": "Target name"})
			if err != nil {
				t.Error(err)
			}
			return r
		})
		ok := 0
		for _, r := range results {
			if r.Status == 200 {
				ok++
			} else if r.Status != 409 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		}
		if ok != 1 {
			t.Fatalf("%d renames won, want 1", ok)
		}
	})
	e.consistent()
}
