package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestProfileDeleteRacingUserAdd: a profile delete and a user add that
// assigns the profile, sent at once, many times. The add's count and the
// delete's condition are on the same item: either the delete wins (the add
// is 400, nothing created) or the add does (the delete is 409).
func TestProfileDeleteRacingUserAdd(t *testing.T) {
	e := newUsersEnv(t)
	won := map[string]int{}
	defer func() { t.Logf("winners: %v", won) }()
	for round := range 8 {
		prof := e.profile(fmt.Sprint("Contested ", round), map[string]any{"tasks": []string{"view"}})
		email := fmt.Sprintf("contested%d@example.com", round)
		out := parallel(2, func(i int) resp {
			var r resp
			var err error
			if i == 0 {
				r, err = e.try("DELETE", "/v1/profiles/"+prof, e.owner, nil)
			} else {
				r, err = e.try("POST", "/v1/users", e.owner, map[string]any{"emails": email, "companyId": e.company, "profileId": prof})
			}
			if err != nil {
				t.Error(err)
			}
			return r
		})
		switch del, add := out[0].Status, out[1].Status; {
		case del == 204 && add == 400:
			won["delete"]++
			if n := len(e.call("GET", "/v1/users?q="+email, e.owner, nil).JSON()["items"].([]any)); n != 0 {
				t.Fatalf("round %d: the refused add left %d users", round, n)
			}
		case del == 409 && add == 201:
			won["add"]++
			if got := e.call("GET", "/v1/profiles/"+prof, e.owner, nil).JSON()["userCount"]; got != float64(1) {
				t.Fatalf("round %d: userCount %v", round, got)
			}
		default:
			t.Fatalf("round %d: delete %d, add %d %s", round, del, add, out[1].Body)
		}
		e.consistent()
	}
}

// TestProfileCountFollowsDeletes: deleting a user, and deleting a company
// with its users, gives their profile's count back, so the profile can be
// deleted afterwards.
func TestProfileCountFollowsDeletes(t *testing.T) {
	e := newUsersEnv(t)
	prof := e.profile("Short-lived", map[string]any{"documents": []string{"view"}})
	co := e.createCompany("Leaving Co")
	var users []string
	for i := range 3 {
		users = append(users, e.addUser(fmt.Sprintf("leaving%d@example.com", i), map[string]any{"companyId": co, "profileId": prof}))
	}
	stay := e.addUser("stay@example.com", map[string]any{"profileId": prof})
	count := func() any { return e.call("GET", "/v1/profiles/"+prof, e.owner, nil).JSON()["userCount"] }
	if got := count(); got != float64(4) {
		t.Fatalf("userCount %v", got)
	}
	want(t, e.call("DELETE", "/v1/users/"+users[0], e.owner, nil), 204)
	want(t, e.call("DELETE", "/v1/companies/"+co, e.owner, nil), 204)
	if got := count(); got != float64(1) {
		t.Fatalf("after the deletes, userCount %v", got)
	}
	want(t, e.call("DELETE", "/v1/profiles/"+prof, e.owner, nil), 409)
	want(t, e.call("DELETE", "/v1/users/"+stay, e.owner, nil), 204)
	want(t, e.call("DELETE", "/v1/profiles/"+prof, e.owner, nil), 204)
	e.consistent()
}

// TestCustomizationFollowsMembership: customizedPermissions is true in
// every list the user appears in (the project's, the company's, the
// portal's) exactly while the customization exists; leaving the project
// drops it, and joining again starts from the profile.
func TestCustomizationFollowsMembership(t *testing.T) {
	e := newUsersEnv(t)
	uid := e.addUser("member@example.com", map[string]any{"projectIds": []string{e.hourly, e.fixed}})
	flags := func() map[string]bool {
		out := map[string]bool{}
		for _, path := range []string{"/v1/users/" + uid, "/v1/projects/" + e.hourly + "/users", "/v1/companies/" + e.company + "/users", "/v1/users?projectId=" + e.fixed} {
			r := e.call("GET", path, e.owner, nil)
			want(t, r, 200)
			users := []any{r.JSON()}
			if items, ok := r.JSON()["items"].([]any); ok {
				users = items
			}
			for _, u := range users {
				for _, p := range u.(map[string]any)["projects"].([]any) {
					m := p.(map[string]any)
					out[path+" "+m["projectId"].(string)] = m["customizedPermissions"].(bool)
				}
			}
		}
		return out
	}
	check := func(hourly bool) {
		t.Helper()
		for k, v := range flags() {
			if wantV := hourly && strings.HasSuffix(k, " "+e.hourly); v != wantV {
				t.Fatalf("%s: customizedPermissions %v, want %v", k, v, wantV)
			}
		}
	}
	check(false)
	path := "/v1/projects/" + e.hourly + "/users/" + uid + "/permissions"
	want(t, e.call("PUT", path, e.owner, map[string]any{"permissions": map[string]any{"issues": []string{"view", "create"}}}), 200)
	check(true)
	e.consistent()
	want(t, e.call("DELETE", "/v1/projects/"+e.hourly+"/users/"+uid, e.owner, nil), 204)
	check(false)
	want(t, e.call("POST", "/v1/projects/"+e.hourly+"/users", e.owner, map[string]any{"userIds": []string{uid}}), 201)
	if r := e.call("GET", path, e.owner, nil).JSON(); r["customized"] != false {
		t.Fatalf("after rejoining: %v", r)
	}
	check(false)
	e.consistent()
}
