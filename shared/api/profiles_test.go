package api_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/clientele/clientele/shared/clientele"
)

func (e usersEnv) profile(name string, perms map[string]any) string {
	e.t.Helper()
	r := e.call("POST", "/v1/profiles", e.owner, map[string]any{"name": name, "permissions": perms})
	want(e.t, r, 201)
	return r.String("id")
}

// session accepts the invitation of a new user made with extra and returns
// the user id and a client session.
func (e usersEnv) session(email string, extra ...map[string]any) (string, string) {
	e.t.Helper()
	uid := e.addUser(email, extra...)
	r := e.call("POST", "/v1/invites/"+url.PathEscape(inviteTokenOf(e.env, email))+"/accept", "", map[string]any{"password": "long enough pw"})
	want(e.t, r, 200)
	return uid, r.String("token")
}

// myPermissions is what /v1/me/projects says the user may do in project.
func (e usersEnv) myPermissions(session, project string) (clientele.Permissions, bool) {
	e.t.Helper()
	for _, it := range e.call("GET", "/v1/me/projects", session, nil).JSON()["items"].([]any) {
		p := it.(map[string]any)
		if p["projectId"] == project {
			perms := clientele.Permissions{}
			for m, acts := range p["permissions"].(map[string]any) {
				perms[m] = strs(acts)
			}
			return perms, p["customizedPermissions"].(bool)
		}
	}
	e.t.Fatalf("project %s not in /v1/me/projects", project)
	return nil, false
}

func TestProfiles(t *testing.T) {
	e := newUsersEnv(t)
	items := e.call("GET", "/v1/profiles", e.owner, nil).JSON()["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != "client" || items[0].(map[string]any)["builtIn"] != true {
		t.Fatalf("a new portal lists %v", items)
	}
	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown module", map[string]any{"name": "X", "permissions": map[string]any{"wiki": []string{"view"}}}, "permissions.wiki"},
		{"unknown action", map[string]any{"name": "X", "permissions": map[string]any{"tasks": []string{"view", "approve"}}}, "permissions.tasks[1]"},
		{"no permissions", map[string]any{"name": "X"}, "permissions"},
		{"the built-in name", map[string]any{"name": " CLIENT ", "permissions": map[string]any{}}, "name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", "/v1/profiles", e.owner, tt.body)
			want(t, r, 400)
			if errs := r.JSON()["errors"].([]any); errs[0].(map[string]any)["field"] != tt.field {
				t.Fatalf("errors %v, want field %s", errs, tt.field)
			}
		})
	}
	editor := e.profile("Editor", map[string]any{"tasks": []string{"edit", "view", "view"}, "documents": []string{}})
	if got := e.call("GET", "/v1/profiles/"+editor, e.owner, nil).JSON()["permissions"]; fmt.Sprint(got) != "map[tasks:[view edit]]" {
		t.Fatalf("stored permissions %v, want normalized", got)
	}
	want(t, e.call("POST", "/v1/profiles", e.owner, map[string]any{"name": "editor", "permissions": map[string]any{}}), 409)

	// Users on it: counted; an unknown profile is refused and writes nothing.
	uid, session := e.session("ed@example.com", map[string]any{"profileId": editor, "projectIds": []string{e.hourly}})
	r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "nobody@example.com", "companyId": e.company, "profileId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"})
	want(t, r, 400)
	if n := e.call("GET", "/v1/profiles/"+editor, e.owner, nil).JSON()["userCount"]; n != float64(1) {
		t.Fatalf("userCount %v", n)
	}
	want(t, e.call("DELETE", "/v1/profiles/"+editor, e.owner, nil), 409)

	// Editing the profile changes the user's permissions at once.
	if perms, custom := e.myPermissions(session, e.hourly); !perms.Allowed("tasks", "edit") || perms.Allowed("tasks", "delete") || custom {
		t.Fatalf("before the edit: %v %v", perms, custom)
	}
	r = e.call("PATCH", "/v1/profiles/"+editor, e.owner, map[string]any{"name": "Manager", "permissions": map[string]any{"tasks": []string{"view", "delete"}}}, "If-Match", `"1"`)
	want(t, r, 200)
	if perms, _ := e.myPermissions(session, e.hourly); perms.Allowed("tasks", "edit") || !perms.Allowed("tasks", "delete") {
		t.Fatalf("after the edit: %v", perms)
	}
	want(t, e.call("POST", "/v1/profiles", e.owner, map[string]any{"name": "Editor", "permissions": map[string]any{}}), 201) // the old name is free
	want(t, e.call("PATCH", "/v1/profiles/client", e.owner, map[string]any{"name": "Mine"}), 409)
	want(t, e.call("DELETE", "/v1/profiles/client", e.owner, nil), 409)
	want(t, e.call("PATCH", "/v1/profiles/"+editor, e.owner, map[string]any{"permissions": map[string]any{"tasks": []string{"fly"}}}), 400)

	// Moved back to the built-in profile, the user frees the profile.
	want(t, e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"profileId": "client"}), 200)
	if perms, _ := e.myPermissions(session, e.hourly); !perms.Equal(clientele.ViewOnly()) {
		t.Fatalf("back on the built-in profile: %v", perms)
	}
	want(t, e.call("DELETE", "/v1/profiles/"+editor, e.owner, nil), 204)
	want(t, e.call("GET", "/v1/profiles/"+editor, e.st.Token("other", "owner", "o"), nil), 404)
	e.consistent()
}

func TestCustomizePermissions(t *testing.T) {
	e := newUsersEnv(t)
	uid, session := e.session("custom@example.com", map[string]any{"projectIds": []string{e.hourly}})
	path := "/v1/projects/" + e.hourly + "/users/" + uid + "/permissions"
	r := e.call("GET", path, e.owner, nil)
	want(t, r, 200)
	if r.JSON()["customized"] != false || fmt.Sprint(r.JSON()["added"]) != "map[]" {
		t.Fatalf("before: %s", r.Body)
	}
	want(t, e.call("PUT", path, e.owner, map[string]any{"permissions": map[string]any{"tasks": []string{"view", "nope"}}}), 400)
	want(t, e.call("PUT", "/v1/projects/"+e.fixed+"/users/"+uid+"/permissions", e.owner, map[string]any{"permissions": map[string]any{}}), 404)

	r = e.call("PUT", path, e.owner, map[string]any{"permissions": map[string]any{"tasks": []string{"view", "create"}, "documents": []string{"view"}}})
	want(t, r, 200)
	got := r.JSON()
	if got["customized"] != true || fmt.Sprint(got["added"]) != "map[tasks:[create]]" ||
		fmt.Sprint(got["removed"]) != "map[discussions:[view] issues:[view] milestones:[view] timesheets:[view]]" {
		t.Fatalf("customized: %s", r.Body)
	}
	u := e.user(uid)
	if !u["projects"].([]any)[0].(map[string]any)["customizedPermissions"].(bool) {
		t.Fatalf("user's projects: %v", u["projects"])
	}
	if perms, custom := e.myPermissions(session, e.hourly); !custom || !perms.Allowed("tasks", "create") || perms.Allowed("issues", "view") {
		t.Fatalf("/v1/me/projects: %v %v", perms, custom)
	}
	var entry map[string]any
	for _, it := range e.call("GET", "/v1/users/"+uid+"/history", e.owner, nil).JSON()["items"].([]any) {
		if it.(map[string]any)["action"] == "user.permissions_customized" {
			entry = it.(map[string]any)
		}
	}
	if entry == nil {
		t.Fatal("no user.permissions_customized in the history")
	}
	ch := entry["changes"].(map[string]any)["permissions"].(map[string]any)
	if len(ch["from"].(map[string]any)) != 6 || len(ch["to"].(map[string]any)) != 2 {
		t.Fatalf("history before/after %v", ch)
	}

	r = e.call("DELETE", path, e.owner, nil)
	want(t, r, 200)
	if r.JSON()["customized"] != false {
		t.Fatalf("after reset: %s", r.Body)
	}
	if e.user(uid)["projects"].([]any)[0].(map[string]any)["customizedPermissions"].(bool) {
		t.Fatal("customizedPermissions still true after the reset")
	}
	if perms, custom := e.myPermissions(session, e.hourly); custom || !perms.Equal(clientele.ViewOnly()) {
		t.Fatalf("after reset: %v %v", perms, custom)
	}
	e.consistent()
}

func TestClonePermissions(t *testing.T) {
	e := newUsersEnv(t)
	var emails []string
	for i := range 51 {
		emails = append(emails, fmt.Sprintf("member%d@example.com", i))
	}
	r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": emails, "companyId": e.company, "projectIds": []string{e.hourly}})
	want(t, r, 201)
	var ids []string
	for _, u := range r.JSON()["created"].([]any) {
		ids = append(ids, u.(map[string]any)["id"].(string))
	}
	src, targets := ids[0], ids[1:]
	outsider := e.addUser("outsider@example.com")
	base := "/v1/projects/" + e.hourly + "/users/"
	want(t, e.call("POST", base+src+"/permissions/clone", e.owner, map[string]any{"targetUserIds": targets}), 409) // nothing to clone yet
	set := map[string]any{"tasks": []string{"view", "edit"}, "discussions": []string{"view", "comment"}}
	want(t, e.call("PUT", base+src+"/permissions", e.owner, map[string]any{"permissions": set}), 200)

	other := e.st.Token("other-portal", "owner", "o")
	oc := e.call("POST", "/v1/companies", other, map[string]any{"name": "Other"}).String("id")
	foreign := e.call("POST", "/v1/users", other, map[string]any{"emails": "foreign@example.com", "companyId": oc}).JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
	all := append(append([]string{}, targets...), outsider, foreign, "01JBZZZZZZZZZZZZZZZZZZZZZZ", targets[0])
	r = e.call("POST", base+src+"/permissions/clone", e.owner, map[string]any{"targetUserIds": all})
	want(t, r, 200)
	outcomes := map[string]int{}
	for _, res := range r.JSON()["results"].([]any) {
		outcomes[res.(map[string]any)["outcome"].(string)]++
	}
	if outcomes["cloned"] != 50 || outcomes["not_member"] != 1 || outcomes["not_found"] != 2 || outcomes["unchanged"] != 1 {
		t.Fatalf("outcomes %v", outcomes)
	}
	for _, id := range targets {
		got := e.call("GET", base+id+"/permissions", e.owner, nil).JSON()
		if got["customized"] != true || fmt.Sprint(got["permissions"]) != "map[discussions:[view comment] tasks:[view edit]]" {
			t.Fatalf("target %s: %v", id, got)
		}
	}
	if e.user(outsider)["version"] != float64(1) {
		t.Fatal("a user outside the project was touched")
	}
	if u := e.call("GET", "/v1/users/"+foreign, other, nil).JSON(); u["version"] != float64(1) {
		t.Fatal("a user of another portal was touched")
	}
	e.consistent()
}

// TestProfileEditWhileCustomizing: a profile edited while its users are
// customized in parallel: every customized user keeps exactly their set,
// every other user has the profile's last set, and the counts hold.
func TestProfileEditWhileCustomizing(t *testing.T) {
	e := newUsersEnv(t)
	prof := e.profile("Team", map[string]any{"tasks": []string{"view"}})
	var emails []string
	for i := range 12 {
		emails = append(emails, fmt.Sprintf("team%d@example.com", i))
	}
	r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": emails, "companyId": e.company, "projectIds": []string{e.hourly}, "profileId": prof})
	want(t, r, 201)
	var ids []string
	for _, u := range r.JSON()["created"].([]any) {
		ids = append(ids, u.(map[string]any)["id"].(string))
	}
	sets := []map[string]any{{"tasks": []string{"view", "create"}}, {"tasks": []string{"view", "edit"}}, {"tasks": []string{"view", "delete"}}}
	var wg sync.WaitGroup
	for i, id := range ids[:6] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := e.try("PUT", "/v1/projects/"+e.hourly+"/users/"+id+"/permissions", e.owner, map[string]any{"permissions": sets[i%3]}); err != nil || r.Status != 200 {
				t.Errorf("customize %s: %v %d %s", id, err, r.Status, r.Body)
			}
		}()
	}
	for _, acts := range [][]string{{"view", "comment"}, {"view", "create", "comment"}, {"comment"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := e.try("PATCH", "/v1/profiles/"+prof, e.owner, map[string]any{"permissions": map[string]any{"tasks": acts}}); err != nil || r.Status != 200 {
				t.Errorf("edit profile: %v %d %s", err, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	final := e.call("GET", "/v1/profiles/"+prof, e.owner, nil).JSON()["permissions"]
	for i, id := range ids {
		got := e.call("GET", "/v1/projects/"+e.hourly+"/users/"+id+"/permissions", e.owner, nil).JSON()
		if fmt.Sprint(got["profilePermissions"]) != fmt.Sprint(final) {
			t.Fatalf("user %s sees profile %v, the profile is %v", id, got["profilePermissions"], final)
		}
		want := final
		if i < 6 {
			want = map[string]any{"tasks": sets[i%3]["tasks"]}
		}
		if fmt.Sprint(got["permissions"]) != fmt.Sprint(want) {
			t.Fatalf("user %d: %v, want %v", i, got["permissions"], want)
		}
	}
	e.consistent()
}

// TestProfileDeleteAssignRace: deleting a profile while users are moved onto
// it never leaves a user on a deleted profile.
func TestProfileDeleteAssignRace(t *testing.T) {
	e := newUsersEnv(t)
	for round := range 4 {
		prof := e.profile(fmt.Sprint("Racy ", round), map[string]any{})
		uids := []string{e.addUser(fmt.Sprintf("r%d-a@example.com", round)), e.addUser(fmt.Sprintf("r%d-b@example.com", round))}
		out := parallel(3, func(i int) resp {
			if i == 2 {
				r, _ := e.try("DELETE", "/v1/profiles/"+prof, e.owner, nil)
				return r
			}
			r, _ := e.try("PATCH", "/v1/users/"+uids[i], e.owner, map[string]any{"profileId": prof})
			return r
		})
		deleted := out[2].Status == 204
		for i := range 2 {
			switch {
			case out[i].Status == 200 && deleted:
				t.Fatalf("round %d: user moved onto a profile that was deleted", round)
			case out[i].Status != 200 && out[i].Status != 400:
				t.Fatalf("round %d: assign answered %d %s", round, out[i].Status, out[i].Body)
			}
		}
		if !deleted && out[2].Status != 409 {
			t.Fatalf("round %d: delete answered %d %s", round, out[2].Status, out[2].Body)
		}
		e.consistent()
	}
}

// TestPermissionMatrix: for a user on the built-in profile, one on a custom
// profile and one customized in the project, /v1/me/projects answers what
// the shared check (Permissions.Allowed) allows, over every module and
// action.
func TestPermissionMatrix(t *testing.T) {
	e := newUsersEnv(t)
	custom := map[string]any{"tasks": []string{"view", "create", "edit"}, "issues": []string{"view", "comment"}, "documents": []string{"delete"}}
	prof := e.profile("Matrix", custom)
	_, builtIn := e.session("builtin@example.com", map[string]any{"projectIds": []string{e.hourly}})
	_, onCustom := e.session("oncustom@example.com", map[string]any{"projectIds": []string{e.hourly}, "profileId": prof})
	cid, customized := e.session("customized@example.com", map[string]any{"projectIds": []string{e.hourly}, "profileId": prof})
	own := map[string]any{"milestones": []string{"view", "edit"}, "timesheets": []string{"create"}}
	want(t, e.call("PUT", "/v1/projects/"+e.hourly+"/users/"+cid+"/permissions", e.owner, map[string]any{"permissions": own}), 200)
	toPerms := func(m map[string]any) clientele.Permissions {
		p := clientele.Permissions{}
		for k, v := range m {
			p[k] = v.([]string)
		}
		return p
	}
	for _, tt := range []struct {
		name    string
		session string
		want    clientele.Permissions
	}{
		{"built-in", builtIn, clientele.ViewOnly()},
		{"custom profile", onCustom, toPerms(custom)},
		{"customized", customized, toPerms(own)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := e.myPermissions(tt.session, e.hourly)
			for _, m := range clientele.Modules {
				for _, a := range clientele.Actions {
					if got.Allowed(m, a) != tt.want.Allowed(m, a) {
						t.Errorf("%s %s: allowed %v, want %v", m, a, got.Allowed(m, a), tt.want.Allowed(m, a))
					}
				}
			}
		})
	}
}

// TestEffectiveIsOneRead: with the user in hand (every request reads it
// first: the session check or the staff read), resolving its permissions
// in a project costs at most one DynamoDB request: one GetItem of a custom
// profile, none for the built-in profile or a customization.
func TestEffectiveIsOneRead(t *testing.T) {
	e := newUsersEnv(t)
	prof := e.profile("Readers", map[string]any{"documents": []string{"view"}})
	builtIn := e.addUser("b@example.com", map[string]any{"projectIds": []string{e.hourly}})
	onCustom := e.addUser("c@example.com", map[string]any{"projectIds": []string{e.hourly}, "profileId": prof})
	customized := e.addUser("d@example.com", map[string]any{"projectIds": []string{e.hourly}, "profileId": prof})
	want(t, e.call("PUT", "/v1/projects/"+e.hourly+"/users/"+customized+"/permissions", e.owner, map[string]any{"permissions": map[string]any{"tasks": []string{"view"}}}), 200)
	ctx := context.Background()
	for _, tt := range []struct {
		uid   string
		reads int64
		allow string
	}{{builtIn, 0, "tasks"}, {onCustom, 1, "documents"}, {customized, 0, "tasks"}} {
		u, err := e.st.Store.GetUser(ctx, "demo", tt.uid)
		if err != nil {
			t.Fatal(err)
		}
		before := e.st.DynamoCalls()
		perms, err := e.st.Store.Effective(ctx, "demo", u, e.hourly)
		if err != nil {
			t.Fatal(err)
		}
		if n := e.st.DynamoCalls() - before; n != tt.reads || !perms.Allowed(tt.allow, "view") {
			t.Fatalf("user %s: %d requests, %v", tt.uid, n, perms)
		}
	}
}
