package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// addUser adds one user and returns its id.
func (e usersEnv) addUser(email string, extra ...map[string]any) string {
	e.t.Helper()
	body := map[string]any{"emails": email, "companyId": e.company}
	for _, x := range extra {
		for k, v := range x {
			body[k] = v
		}
	}
	r := e.call("POST", "/v1/users", e.owner, body)
	want(e.t, r, 201)
	return r.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
}

func (e usersEnv) user(id string) map[string]any {
	e.t.Helper()
	r := e.call("GET", "/v1/users/"+id, e.owner, nil)
	want(e.t, r, 200)
	return r.JSON()
}

func (e usersEnv) emails(path string) string {
	e.t.Helper()
	r := e.call("GET", path, e.owner, nil)
	want(e.t, r, 200)
	var out []string
	for _, it := range r.JSON()["items"].([]any) {
		out = append(out, it.(map[string]any)["email"].(string))
	}
	return strings.Join(out, " ")
}

func (e usersEnv) seats() float64 {
	return e.call("GET", "/v1/portal", e.owner, nil).JSON()["seatsUsed"].(float64)
}

func TestDeactivateAndActivate(t *testing.T) {
	e := newUsersEnv(t)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 1}), 200)
	ann := e.addUser("ann@example.com")
	r := e.call("POST", "/v1/users/"+ann+"/deactivate", e.owner, nil)
	want(t, r, 200)
	if r.JSON()["status"] != "deactivated" || e.seats() != 0 {
		t.Fatalf("after deactivate: %s, seats %v", r.Body, e.seats())
	}
	want(t, e.call("POST", "/v1/users/"+ann+"/deactivate", e.owner, "{}"), 200) // twice: no change
	if got := e.emails("/v1/users?status=deactivated"); got != "ann@example.com" {
		t.Fatalf("deactivated view %q", got)
	}
	// The address still belongs to Ann: the way back is activate.
	r = e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "ANN@example.com", "companyId": e.company})
	want(t, r, 409)
	if r.String("existingUserId") != ann || r.String("userStatus") != "deactivated" || !strings.Contains(r.String("detail"), "activate") {
		t.Fatalf("problem %s", r.Body)
	}
	// Her seat went to Bob; activating her is past the limit.
	e.addUser("bob@example.com")
	r = e.call("POST", "/v1/users/"+ann+"/activate", e.owner, nil)
	want(t, r, 409)
	if r.String("type") != "/problems/seat-limit" {
		t.Fatalf("problem %s", r.Body)
	}
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 2}), 200)
	r = e.call("POST", "/v1/users/"+ann+"/activate", e.owner, nil, "If-Match", `"1"`)
	want(t, r, 412)
	r = e.call("POST", "/v1/users/"+ann+"/activate", e.owner, nil)
	want(t, r, 200)
	if r.JSON()["status"] != "invited" || e.seats() != 2 {
		t.Fatalf("after activate: %s, seats %v", r.Body, e.seats())
	}
	var actions []string
	for _, it := range e.call("GET", "/v1/users/"+ann+"/history", e.owner, nil).JSON()["items"].([]any) {
		actions = append(actions, it.(map[string]any)["action"].(string))
	}
	if fmt.Sprint(actions) != "[user.activated user.deactivated user.created]" {
		t.Fatalf("history %v", actions)
	}
	e.consistent()
}

func TestActivateUnderConcurrency(t *testing.T) {
	e := newUsersEnv(t)
	var ids []string
	for i := range 8 {
		ids = append(ids, e.addUser(fmt.Sprintf("c%d@example.com", i)))
		want(t, e.call("POST", "/v1/users/"+ids[i]+"/deactivate", e.owner, nil), 200)
	}
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 3}), 200)
	results := parallel(len(ids), func(i int) resp {
		r, err := e.try("POST", "/v1/users/"+ids[i]+"/activate", e.owner, nil)
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
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	}
	if ok != 3 || e.seats() != 3 {
		t.Fatalf("%d activated, %v seats; want 3", ok, e.seats())
	}
	e.consistent()
}

func TestPatchUser(t *testing.T) {
	e := newUsersEnv(t)
	id := e.addUser("pat@example.com", map[string]any{"projectIds": []string{e.fixed}})
	want(t, e.call("PATCH", "/v1/users/"+id, e.owner, map[string]any{"name": "Pat"}, "If-Match", `"7"`), 412)
	r := e.call("PATCH", "/v1/users/"+id, e.owner, map[string]any{
		"name": "Pat Doe", "title": "PM", "portalRate": 80, "addProjectIds": []string{e.hourly},
		"projectRates": []map[string]any{{"projectId": e.hourly, "ratePerHour": 95}}, "notify": true,
	}, "If-Match", `"1"`)
	want(t, r, 200)
	u := r.JSON()
	rates := map[string]any{}
	for _, p := range u["projects"].([]any) {
		m := p.(map[string]any)
		rates[m["projectId"].(string)] = m["ratePerHour"]
	}
	if u["name"] != "Pat Doe" || u["portalRate"].(float64) != 80 || len(rates) != 2 || rates[e.hourly] != 95.0 || rates[e.fixed] != nil || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("patched %v", u)
	}
	msgs := e.st.Mail.Messages()
	if len(msgs) != 2 || !strings.Contains(msgs[0].Subject, "updated") || msgs[0].To[0] != "pat@example.com" {
		t.Fatalf("notice %+v", msgs[0])
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"rate on a fixed project", map[string]any{"projectRates": []map[string]any{{"projectId": e.fixed, "ratePerHour": 5}}}, "projectRates[0].ratePerHour"},
		{"rate on a project the user is not on", map[string]any{"projectRates": []map[string]any{{"projectId": e.createProject("Other"), "ratePerHour": 5}}}, "projectRates[0].projectId"},
		{"project the company is not on", map[string]any{"addProjectIds": []string{e.createProject("Foreign")}}, "addProjectIds[0]"},
		{"unknown profile", map[string]any{"profileId": "admin"}, "profileId"},
		{"unknown field", map[string]any{"mail": "x@example.com"}, "mail"},
		{"null email", map[string]any{"email": nil}, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("PATCH", "/v1/users/"+id, e.owner, tt.body)
			want(t, r, 400)
			if !strings.Contains(string(r.Body), `"field":"`+tt.field+`"`) {
				t.Fatalf("no error on %s: %s", tt.field, r.Body)
			}
		})
	}
	// The project lists show the change.
	if got := e.emails("/v1/projects/" + e.hourly + "/users"); got != "pat@example.com" {
		t.Fatalf("project users %q", got)
	}
	e.consistent()
}

func TestProjectMembers(t *testing.T) {
	e := newUsersEnv(t)
	a, b := e.addUser("a@example.com"), e.addUser("b@example.com")
	other := e.createCompany("Other Co")
	r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "o@example.com", "companyId": other})
	o := r.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)

	r = e.call("POST", "/v1/projects/"+e.hourly+"/users", e.owner, map[string]any{
		"userIds": []string{a, b, o, "01JBZZZZZZZZZZZZZZZZZZZZZZ"}, "ratePerHour": 70,
	})
	want(t, r, 207)
	failed := map[string]float64{}
	for _, f := range r.JSON()["failed"].([]any) {
		m := f.(map[string]any)
		failed[m["userId"].(string)] = m["status"].(float64)
	}
	if len(r.JSON()["added"].([]any)) != 2 || failed[o] != 409 || failed["01JBZZZZZZZZZZZZZZZZZZZZZZ"] != 404 {
		t.Fatalf("outcomes %s", r.Body)
	}
	want(t, e.call("POST", "/v1/projects/"+e.hourly+"/users", e.owner, map[string]any{"userIds": []string{a}}), 409)
	want(t, e.call("POST", "/v1/projects/"+e.fixed+"/users", e.owner, map[string]any{"userIds": []string{a}, "ratePerHour": 1}), 400)

	if got := e.emails("/v1/projects/" + e.hourly + "/users"); got != "a@example.com b@example.com" {
		t.Fatalf("project users %q", got)
	}
	if got := e.emails("/v1/users?projectId=" + e.hourly + "&q=B"); got != "b@example.com" {
		t.Fatalf("users by project %q", got)
	}
	if got := e.emails("/v1/users?companyId=" + e.company + "&status=invited"); got != "a@example.com b@example.com" {
		t.Fatalf("users by company %q", got)
	}
	if got := e.emails("/v1/companies/" + other + "/users"); got != "o@example.com" {
		t.Fatalf("company users %q", got)
	}
	want(t, e.call("GET", "/v1/users?companyId="+e.company+"&projectId="+e.hourly, e.owner, nil), 400)

	// Rates change on staff-hours projects only.
	r = e.call("PATCH", "/v1/projects/"+e.hourly+"/users/"+a, e.owner, map[string]any{"ratePerHour": 75.5})
	want(t, r, 200)
	if p := r.JSON()["projects"].([]any)[0].(map[string]any); p["ratePerHour"] != 75.5 {
		t.Fatalf("rate %v", p)
	}
	want(t, e.call("PATCH", "/v1/projects/"+e.hourly+"/users/"+o, e.owner, map[string]any{"ratePerHour": 1}), 404)
	want(t, e.call("PATCH", "/v1/projects/"+e.hourly+"/users/"+a, e.owner, map[string]any{}), 400)

	// Removing a member, with a notice.
	want(t, e.call("DELETE", "/v1/projects/"+e.hourly+"/users/"+b+"?notify=true", e.owner, nil), 204)
	want(t, e.call("DELETE", "/v1/projects/"+e.hourly+"/users/"+b, e.owner, nil), 404)
	if got := e.emails("/v1/projects/" + e.hourly + "/users"); got != "a@example.com" {
		t.Fatalf("after removal %q", got)
	}
	if msgs := e.st.Mail.Messages(); !strings.Contains(msgs[0].Subject, "removed") || msgs[0].To[0] != "b@example.com" {
		t.Fatalf("notice %+v", msgs[0])
	}

	// Removing the company from the project takes its users off it too.
	want(t, e.call("DELETE", "/v1/projects/"+e.hourly+"/companies/"+e.company, e.owner, nil), 204)
	if got := e.emails("/v1/projects/" + e.hourly + "/users"); got != "" {
		t.Fatalf("after the company left: %q", got)
	}
	if ps := e.user(a)["projects"].([]any); len(ps) != 0 {
		t.Fatalf("user still on %v", ps)
	}
	e.consistent()
}

func TestDeleteUser(t *testing.T) {
	e := newUsersEnv(t)
	id := e.addUser("gone@example.com", map[string]any{"projectIds": []string{e.hourly}})
	want(t, e.call("DELETE", "/v1/users/"+id, e.owner, nil, "If-Match", `"9"`), 412)
	want(t, e.call("DELETE", "/v1/users/"+id+"?notify=true", e.owner, nil), 204)
	want(t, e.call("GET", "/v1/users/"+id, e.owner, nil), 404)
	want(t, e.call("GET", "/v1/users/"+id+"/history", e.owner, nil), 404)
	if e.seats() != 0 || e.emails("/v1/projects/"+e.hourly+"/users") != "" {
		t.Fatal("the seat or the membership outlived the user")
	}
	if msgs := e.st.Mail.Messages(); !strings.Contains(msgs[0].Subject, "removed") {
		t.Fatalf("notice %+v", msgs[0])
	}
	// The address is free again: a new user, with a new history.
	e.addUser("gone@example.com")
	e.consistent()
}

func TestDeleteCompanyWithManyUsers(t *testing.T) {
	e := newUsersEnv(t)
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": manyAddresses(100), "companyId": e.company, "projectIds": []string{e.hourly}}), 201)
	e.addUser("last@example.com", map[string]any{"projectIds": []string{e.fixed}})
	keep := e.createCompany("Keeper")
	r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "keeper@example.com", "companyId": keep})
	want(t, r, 201)
	if e.seats() != 102 {
		t.Fatalf("seats %v", e.seats())
	}
	e.st.Mail.Reset()

	// DynamoDB fails midway, after 30 users are gone.
	writes := 0
	e.st.FailDynamo(func(op string) bool {
		if op == "TransactWriteItems" {
			writes++
		}
		return writes > 31
	})
	want(t, e.call("DELETE", "/v1/companies/"+e.company+"?notify=true", e.owner, nil), 503)
	e.st.FailDynamo(nil)
	e.consistentMidway() // each step committed whole or not at all
	want(t, e.call("GET", "/v1/companies/"+e.company, e.owner, nil), 404)

	// The retry finishes the job.
	want(t, e.call("DELETE", "/v1/companies/"+e.company+"?notify=true", e.owner, nil), 204)
	if got := e.emails("/v1/users?limit=200"); got != "keeper@example.com" {
		t.Fatalf("users left: %q", got)
	}
	if e.seats() != 1 || e.emails("/v1/projects/"+e.hourly+"/users") != "" {
		t.Fatalf("seats %v", e.seats())
	}
	if n := len(e.st.Mail.Messages()); n != 101 {
		t.Fatalf("%d notices for 101 deleted users", n)
	}
	e.consistent()
}

func TestCompanyGroup(t *testing.T) {
	e := newUsersEnv(t)
	want(t, e.call("GET", "/v1/companies/"+e.company+"/group", e.owner, nil), 404)
	g := e.createCompany("Grouped", map[string]any{"createUserGroup": true})
	for _, a := range []string{"g1@example.com", "g2@example.com"} {
		want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": a, "companyId": g}), 201)
	}
	r := e.call("GET", "/v1/companies/"+g+"/group", e.owner, nil)
	want(t, r, 200)
	if r.JSON()["memberCount"].(float64) != 2 || r.JSON()["companyId"] != g {
		t.Fatalf("group %s", r.Body)
	}
	if got := e.emails("/v1/companies/" + g + "/users"); got != "g1@example.com g2@example.com" {
		t.Fatalf("members %q", got)
	}
	if !slices.Contains([]string{"Grouped users"}, r.String("name")) {
		t.Fatalf("name %q", r.String("name"))
	}
}
