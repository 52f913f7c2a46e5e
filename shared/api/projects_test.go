package api_test

import (
	"fmt"
	"slices"
	"testing"
)

func TestProjectPrimaryClient(t *testing.T) {
	e := newEnv(t)
	a, b := e.createCompany("Alpha"), e.createCompany("Beta")
	pid := e.createProject("Website", map[string]any{"billing": "staff_hours"})
	p := e.call("GET", "/v1/projects/"+pid, e.owner, nil).JSON()
	if p["primaryCompanyId"] != nil || p["invoiceable"] != false || p["billing"] != "staff_hours" {
		t.Fatalf("new project %v", p)
	}

	r := e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": a})
	want(t, r, 201)
	if pr := r.JSON()["project"].(map[string]any); pr["primaryCompanyId"] != a || pr["invoiceable"] != true {
		t.Fatalf("first company must become primary: %v", pr)
	}
	if r.Header.Get("Location") != "/v1/companies/"+a {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	r = e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": b})
	want(t, r, 201)
	if pr := r.JSON()["project"].(map[string]any); pr["primaryCompanyId"] != a {
		t.Fatalf("second company must not take primary: %v", pr)
	}
	if co := r.JSON()["company"].(map[string]any); !slices.Contains(strs(co["projectIds"]), pid) {
		t.Fatalf("company does not list the project: %v", co)
	}
	want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": b}), 409)
	want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{}), 400)
	want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": a, "company": map[string]any{"name": "x"}}), 400)
	want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"}), 404)

	// A new company added as primary replaces the old primary.
	r = e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"company": map[string]any{"name": "Gamma"}, "primary": true})
	want(t, r, 201)
	g := r.JSON()["company"].(map[string]any)["id"].(string)
	if pr := r.JSON()["project"].(map[string]any); pr["primaryCompanyId"] != g || len(strs(pr["companyIds"])) != 3 {
		t.Fatalf("project %v", pr)
	}
	want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"company": map[string]any{"name": "alpha"}}), 409)

	// Set primary: only to a company on the project.
	outsider := e.createCompany("Outsider")
	want(t, e.call("PUT", "/v1/projects/"+pid+"/primary-company", e.owner, map[string]any{"companyId": outsider}), 409)
	r = e.call("PUT", "/v1/projects/"+pid+"/primary-company", e.owner, map[string]any{"companyId": b})
	want(t, r, 200)
	if r.JSON()["primaryCompanyId"] != b {
		t.Fatalf("primary %v", r.JSON()["primaryCompanyId"])
	}
	want(t, e.call("PUT", "/v1/projects/"+pid+"/primary-company", e.owner, map[string]any{"companyId": a}, "If-Match", `"1"`), 412)

	// Removing a non-primary company removes only that association.
	want(t, e.call("DELETE", "/v1/projects/"+pid+"/companies/"+a, e.owner, nil), 204)
	p = e.call("GET", "/v1/projects/"+pid, e.owner, nil).JSON()
	if slices.Contains(strs(p["companyIds"]), a) || p["primaryCompanyId"] != b || len(strs(p["companyIds"])) != 2 {
		t.Fatalf("after removing a: %v", p)
	}
	if ids := strs(e.call("GET", "/v1/companies/"+a, e.owner, nil).JSON()["projectIds"]); len(ids) != 0 {
		t.Fatalf("company a still lists %v", ids)
	}
	want(t, e.call("DELETE", "/v1/projects/"+pid+"/companies/"+a, e.owner, nil), 404)

	// Removing the primary leaves the project without one.
	want(t, e.call("DELETE", "/v1/projects/"+pid+"/companies/"+b, e.owner, nil), 204)
	p = e.call("GET", "/v1/projects/"+pid, e.owner, nil).JSON()
	if p["primaryCompanyId"] != nil || p["invoiceable"] != false || fmt.Sprint(strs(p["companyIds"])) != fmt.Sprint([]string{g}) {
		t.Fatalf("after removing the primary: %v", p)
	}

	// The company's history tells the story.
	h := e.call("GET", "/v1/companies/"+b+"/history", e.owner, nil).JSON()["items"].([]any)
	var actions []string
	for _, it := range h {
		actions = append(actions, it.(map[string]any)["action"].(string))
	}
	wantActions := []string{"company.project_removed", "company.primary_set", "company.project_added", "company.created"}
	if fmt.Sprint(actions) != fmt.Sprint(wantActions) {
		t.Fatalf("history %v, want %v", actions, wantActions)
	}
	e.consistent()
}

func TestProjectCreateWithCompanies(t *testing.T) {
	e := newEnv(t)
	a, b := e.createCompany("One"), e.createCompany("Two")
	r := e.call("POST", "/v1/projects", e.owner, map[string]any{"name": "Joint", "companyIds": []string{a, b}, "primaryCompanyId": b})
	want(t, r, 201)
	p := r.JSON()
	if p["primaryCompanyId"] != b || p["invoiceable"] != true {
		t.Fatalf("project %v", p)
	}
	want(t, e.call("POST", "/v1/projects", e.owner, map[string]any{"name": "Bad", "companyIds": []string{a}, "primaryCompanyId": b}), 400)
	// A company created on projects becomes primary where there was none.
	r = e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "Three", "projectIds": []string{p["id"].(string), e.createProject("Empty")}})
	want(t, r, 201)
	c := r.JSON()
	empty := strs(c["projectIds"])[1]
	if pr := e.call("GET", "/v1/projects/"+empty, e.owner, nil).JSON(); pr["primaryCompanyId"] != c["id"] {
		t.Fatalf("company must be primary of the empty project: %v", pr)
	}
	if pr := e.call("GET", "/v1/projects/"+p["id"].(string), e.owner, nil).JSON(); pr["primaryCompanyId"] != b || len(strs(pr["companyIds"])) != 3 {
		t.Fatalf("joint project %v", pr)
	}
	e.consistent()
}

func TestPrimaryUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	pid := e.createProject("Contended")
	var ids []string
	for i := range 6 {
		id := e.createCompany(fmt.Sprintf("Contender %d", i))
		ids = append(ids, id)
		want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": id}), 201)
	}
	results := parallel(24, func(i int) resp {
		r, err := e.try("PUT", "/v1/projects/"+pid+"/primary-company", e.owner, map[string]any{"companyId": ids[i%len(ids)]})
		if err != nil {
			t.Error(err)
		}
		return r
	})
	for _, r := range results {
		if r.Status != 200 && r.Status != 503 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
	p := e.call("GET", "/v1/projects/"+pid, e.owner, nil).JSON()
	if !slices.Contains(ids, fmt.Sprint(p["primaryCompanyId"])) || p["invoiceable"] != true {
		t.Fatalf("primary %v", p["primaryCompanyId"])
	}
	// Exactly one company's history ends in "primary set" without an unset after it.
	primaries := 0
	for _, id := range ids {
		h := e.call("GET", "/v1/companies/"+id+"/history?limit=200", e.owner, nil).JSON()["items"].([]any)
		for _, it := range h {
			a := it.(map[string]any)["action"]
			if a == "company.primary_set" {
				primaries++
				break
			}
			if a == "company.primary_unset" {
				break
			}
		}
	}
	if primaries != 1 && !(primaries == 0 && p["primaryCompanyId"] == ids[0]) {
		t.Fatalf("%d companies believe they are primary", primaries)
	}

	t.Run("concurrent adds to an empty project make exactly one primary", func(t *testing.T) {
		pid := e.createProject("Empty and contended")
		results := parallel(len(ids), func(i int) resp {
			r, err := e.try("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": ids[i]})
			if err != nil {
				t.Error(err)
			}
			return r
		})
		primary := 0
		for _, r := range results {
			want(t, r, 201)
			if r.JSON()["project"].(map[string]any)["primaryCompanyId"] == r.JSON()["company"].(map[string]any)["id"] {
				primary++
			}
		}
		p := e.call("GET", "/v1/projects/"+pid, e.owner, nil).JSON()
		if primary != 1 || len(strs(p["companyIds"])) != len(ids) || p["primaryCompanyId"] == nil {
			t.Fatalf("%d adds became primary; project %v", primary, p)
		}
	})
	e.consistent()
}

func TestDeleteCompanyCascade(t *testing.T) {
	e := newEnv(t)
	cid := e.createCompany("Leaving")
	keep := e.createCompany("Staying")
	var projects []string
	for i := range 45 { // more than one step of 40
		pid := e.createProject(fmt.Sprintf("P%02d", i))
		projects = append(projects, pid)
		if i%2 == 0 {
			want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": keep}), 201)
		}
		want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": cid, "primary": i%3 == 0}), 201)
	}

	// Fail DynamoDB midway: after the company is marked and one step is done.
	writes := 0
	e.st.FailDynamo(func(op string) bool {
		if op == "TransactWriteItems" {
			writes++
		}
		return writes > 2
	})
	r := e.call("DELETE", "/v1/companies/"+cid, e.owner, nil)
	want(t, r, 503)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	e.st.FailDynamo(nil)
	e.consistentMidway()
	// Already gone from reads and lists, though not finished.
	want(t, e.call("GET", "/v1/companies/"+cid, e.owner, nil), 404)
	for _, it := range e.call("GET", "/v1/companies", e.owner, nil).JSON()["items"].([]any) {
		if it.(map[string]any)["id"] == cid {
			t.Fatal("a company being deleted is still listed")
		}
	}
	// A retry finishes the job.
	want(t, e.call("DELETE", "/v1/companies/"+cid, e.owner, nil), 204)
	for i, pid := range projects {
		p := e.call("GET", "/v1/projects/"+pid, e.owner, nil).JSON()
		if slices.Contains(strs(p["companyIds"]), cid) {
			t.Fatalf("project %d still has the company", i)
		}
		switch {
		case i%2 == 0 && i%3 == 0 && p["primaryCompanyId"] != nil:
			t.Fatalf("project %d keeps a deleted primary", i)
		case i%2 == 0 && i%3 != 0 && p["primaryCompanyId"] != keep:
			t.Fatalf("project %d lost its primary %v", i, p["primaryCompanyId"])
		case i%2 != 0 && (len(strs(p["companyIds"])) != 0 || p["invoiceable"] != false):
			t.Fatalf("project %d: %v", i, p)
		}
	}
	// The name is free again.
	e.createCompany("leaving")
	e.consistent()
}

func TestDeleteProjectCascade(t *testing.T) {
	e := newEnv(t)
	pid := e.createProject("Doomed")
	other := e.createProject("Survivor")
	var cids []string
	for i := range 42 {
		cid := e.createCompany(fmt.Sprintf("Client %02d", i))
		cids = append(cids, cid)
		want(t, e.call("POST", "/v1/projects/"+pid+"/companies", e.owner, map[string]any{"companyId": cid}), 201)
	}
	want(t, e.call("POST", "/v1/projects/"+other+"/companies", e.owner, map[string]any{"companyId": cids[0]}), 201)
	want(t, e.call("DELETE", "/v1/projects/"+pid, e.owner, nil, "If-Match", `"7"`), 412)
	want(t, e.call("DELETE", "/v1/projects/"+pid, e.owner, nil), 204)
	want(t, e.call("GET", "/v1/projects/"+pid, e.owner, nil), 404)
	for _, cid := range cids {
		if slices.Contains(strs(e.call("GET", "/v1/companies/"+cid, e.owner, nil).JSON()["projectIds"]), pid) {
			t.Fatal("a company still lists the deleted project")
		}
	}
	if ids := strs(e.call("GET", "/v1/companies/"+cids[0], e.owner, nil).JSON()["projectIds"]); fmt.Sprint(ids) != fmt.Sprint([]string{other}) {
		t.Fatalf("other association lost: %v", ids)
	}
	e.consistent()
}

func TestPortalSettings(t *testing.T) {
	e := newEnv(t)
	fresh := e.st.Token("fresh-portal", "owner", "o")
	r := e.call("GET", "/v1/portal", fresh, nil)
	want(t, r, 200)
	p := r.JSON()
	if p["id"] != "fresh-portal" || p["version"].(float64) != 0 || p["inviteLinkTtlHours"].(float64) != 168 ||
		p["clientSeatLimit"] != nil || p["appBaseUrl"] != e.srv.URL || p["createdAt"] != nil {
		t.Fatalf("defaults %v", p)
	}
	r = e.call("PATCH", "/v1/portal", fresh, map[string]any{"name": "Fresh", "clientSeatLimit": 5, "inviteLinkTtlHours": 48, "appBaseUrl": "https://portal.fresh.example/"})
	want(t, r, 200)
	p = r.JSON()
	if p["name"] != "Fresh" || p["clientSeatLimit"].(float64) != 5 || p["appBaseUrl"] != "https://portal.fresh.example" || p["version"].(float64) != 1 || p["seatsUsed"].(float64) != 0 {
		t.Fatalf("patched %v", p)
	}
	r = e.call("PATCH", "/v1/portal", fresh, map[string]any{"clientSeatLimit": nil, "appBaseUrl": nil})
	want(t, r, 200)
	if p := r.JSON(); p["clientSeatLimit"] != nil || p["appBaseUrl"] != e.srv.URL || p["name"] != "Fresh" {
		t.Fatalf("reset %v", p)
	}
	want(t, e.call("PATCH", "/v1/portal", fresh, map[string]any{"appBaseUrl": "javascript:alert(1)"}), 400)
	if e.call("GET", "/v1/portal", e.owner, nil).String("name") != "Demo Portal" {
		t.Fatal("the demo portal is seeded")
	}
}
