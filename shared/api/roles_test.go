package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"testing"

	"github.com/clientele/clientele/shared/clientele"
)

func (e usersEnv) role(name string, perms map[string]any) string {
	e.t.Helper()
	r := e.call("POST", "/v1/roles", e.owner, map[string]any{"name": name, "permissions": perms})
	want(e.t, r, 201)
	return r.String("id")
}

func (e usersEnv) userCount(role string) float64 {
	e.t.Helper()
	n, _ := e.call("GET", "/v1/roles/"+role, e.owner, nil).JSON()["userCount"].(float64)
	return n
}

func TestClientRoles(t *testing.T) {
	e := newUsersEnv(t)
	member := e.st.Token("demo", "member", "m")
	r := e.call("POST", "/v1/roles", e.owner, map[string]any{"name": "Reviewer", "permissions": map[string]any{"issues": []string{"view", "comment"}}})
	want(t, r, 201)
	reviewer := r.String("id")
	if r.Header.Get("Location") != "/v1/roles/"+reviewer || r.JSON()["userCount"] != float64(0) {
		t.Errorf("create: %v %s", r.Header, r.Body)
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		code  int
		field string
	}{
		{"name taken, other case", map[string]any{"name": "REVIEWER", "permissions": map[string]any{}}, 409, "name"},
		{"no name", map[string]any{"permissions": map[string]any{}}, 400, "name"},
		{"no permissions", map[string]any{"name": "X"}, 400, "permissions"},
		{"unknown module", map[string]any{"name": "X", "permissions": map[string]any{"wiki": []string{"view"}}}, 400, "permissions.wiki"},
		{"unknown action", map[string]any{"name": "X", "permissions": map[string]any{"tasks": []string{"fly"}}}, 400, "permissions.tasks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("POST", "/v1/roles", e.owner, tc.body)
			want(t, r, tc.code)
			if !bytes.Contains(r.Body, []byte(`"field":"`+tc.field)) {
				t.Errorf("want an error on %s: %s", tc.field, r.Body)
			}
		})
	}
	want(t, e.call("POST", "/v1/roles", member, map[string]any{"name": "M", "permissions": map[string]any{}}), 403)
	want(t, e.call("GET", "/v1/roles/"+reviewer, member, nil), 200)
	if items := e.call("GET", "/v1/roles", member, nil).JSON()["items"].([]any); len(items) != 1 {
		t.Errorf("list: %v", items)
	}
	want(t, e.call("PATCH", "/v1/roles/"+reviewer, e.owner, map[string]any{"name": "Reviewers"}, "If-Match", `"9"`), 412)
	p := e.call("PATCH", "/v1/roles/"+reviewer, e.owner, map[string]any{"name": "Reviewers"}, "If-Match", `"1"`)
	want(t, p, 200)
	if p.Header.Get("ETag") != `"2"` || p.String("name") != "Reviewers" {
		t.Errorf("patch: %v %s", p.Header, p.Body)
	}
	// The old name is free again, the new one taken.
	e.role("Reviewer", map[string]any{})
	want(t, e.call("POST", "/v1/roles", e.owner, map[string]any{"name": "reviewers", "permissions": map[string]any{}}), 409)

	// Holders: counted in the user's own transaction; unknown roles refused
	// with nothing written.
	editor := e.role("Editor", map[string]any{"tasks": []string{"create", "edit"}})
	users := e.countAll("/v1/users", e.owner)
	bad := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "ghost@example.com", "companyId": e.company, "roleIds": []string{editor, "01JD0Q8F3G5H7K9M1N3P5R7T9V"}})
	want(t, bad, 400)
	if !bytes.Contains(bad.Body, []byte(`"field":"roleIds"`)) || e.countAll("/v1/users", e.owner) != users || e.userCount(editor) != 0 {
		t.Errorf("a refused user was written: %s", bad.Body)
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("01JD0Q8F3G5H7K9M1N3P5R7T%02d", i)
	}
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "many@example.com", "companyId": e.company, "roleIds": eleven}), 400)
	uid := e.addUser("ann@example.com", map[string]any{"roleIds": []string{reviewer, editor}})
	u := e.call("GET", "/v1/users/"+uid, e.owner, nil)
	if got, want := strs(u.JSON()["roleIds"]), []string{reviewer, editor}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("roleIds %v, want %v sorted", got, want)
	}
	if e.userCount(reviewer) != 1 || e.userCount(editor) != 1 {
		t.Errorf("counts %v %v", e.userCount(reviewer), e.userCount(editor))
	}

	// In use: 409 naming the count; the holders list; the change in history.
	d := e.call("DELETE", "/v1/roles/"+editor, e.owner, nil)
	want(t, d, 409)
	if d.JSON()["userCount"] != float64(1) {
		t.Errorf("delete in use: %s", d.Body)
	}
	other := e.addUser("bob@example.com")
	holders := e.call("GET", "/v1/users?roleId="+editor, e.owner, nil).JSON()["items"].([]any)
	if len(holders) != 1 || holders[0].(map[string]any)["id"] != uid {
		t.Errorf("holders of editor: %v (bob %s)", holders, other)
	}
	want(t, e.call("GET", "/v1/users?roleId="+editor+"&companyId="+e.company, e.owner, nil), 400)
	want(t, e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"roleIds": nil}), 400)
	want(t, e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"roleIds": []string{reviewer}}), 200)
	if e.userCount(reviewer) != 1 || e.userCount(editor) != 0 {
		t.Errorf("after the change: counts %v %v", e.userCount(reviewer), e.userCount(editor))
	}
	found := false
	for _, h := range e.call("GET", "/v1/users/"+uid+"/history", e.owner, nil).JSON()["items"].([]any) {
		ch, _ := h.(map[string]any)["changes"].(map[string]any)
		if rc, ok := ch["roleIds"].(map[string]any); ok && len(strs(rc["from"])) == 2 && len(strs(rc["to"])) == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no roleIds change in the user's history")
	}
	want(t, e.call("DELETE", "/v1/roles/"+editor, e.owner, nil), 204)
	want(t, e.call("GET", "/v1/roles/"+editor, e.owner, nil), 404)
	// Deleting the user gives the role back.
	want(t, e.call("DELETE", "/v1/users/"+uid, e.owner, nil), 204)
	if e.userCount(reviewer) != 0 {
		t.Errorf("a deleted user still counts")
	}
	e.consistent()
}

// TestClientRoleDeleteAgainstAssign: a role deleted while a user is given it,
// ten times in parallel pairs: one of the two fails, never both succeed.
func TestClientRoleDeleteAgainstAssign(t *testing.T) {
	e := newUsersEnv(t)
	uid := e.addUser("pat@example.com")
	for i := range 10 {
		role := e.role(fmt.Sprintf("Race %d", i), map[string]any{})
		rs := parallel(2, func(j int) resp {
			if j == 0 {
				r, _ := e.try("DELETE", "/v1/roles/"+role, e.owner, nil)
				return r
			}
			r, _ := e.try("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"roleIds": []string{role}})
			return r
		})
		deleted, given := rs[0].Status == 204, rs[1].Status == 200
		if deleted == given {
			t.Fatalf("round %d: delete %d %s, assign %d %s", i, rs[0].Status, rs[0].Body, rs[1].Status, rs[1].Body)
		}
		if deleted && rs[1].Status != 400 || given && rs[0].Status != 409 {
			t.Fatalf("round %d: delete %d, assign %d", i, rs[0].Status, rs[1].Status)
		}
		want(t, e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"roleIds": []string{}}), 200)
	}
	e.consistent()
}

// TestClientRolePermissions: without a customization a user may do what the
// profile and every role allow, in .../permissions, /v1/me/projects and
// the exports' roles column; a customization still wins.
func TestClientRolePermissions(t *testing.T) {
	e := newUsersEnv(t)
	editor := e.role("Editor", map[string]any{"tasks": []string{"create", "edit"}})
	commenter := e.role("Commenter", map[string]any{"issues": []string{"comment"}, "tasks": []string{"view"}})
	uid, session := e.session("cara@example.com", map[string]any{"projectIds": []string{e.hourly}, "roleIds": []string{editor, commenter}})
	base := clientele.Base(clientele.ViewOnly(), []clientele.Permissions{{"tasks": {"create", "edit"}}, {"issues": {"comment"}, "tasks": {"view"}}})
	got, customized := e.myPermissions(session, e.hourly)
	if customized || !got.Equal(base) {
		t.Errorf("/v1/me/projects: %v, want %v", got, base)
	}
	path := "/v1/projects/" + e.hourly + "/users/" + uid + "/permissions"
	r := e.call("GET", path, e.owner, nil)
	want(t, r, 200)
	if r.JSON()["customized"] != false || len(strs(r.JSON()["roleIds"])) != 2 || !bytes.Contains(r.Body, []byte(`"create","edit","view"`)) {
		t.Errorf("permissions: %s", r.Body)
	}
	// A customization is measured from the base and wins over it.
	c := e.call("PUT", path, e.owner, map[string]any{"permissions": map[string]any{"tasks": []string{"view"}}})
	want(t, c, 200)
	if removed, _ := c.JSON()["removed"].(map[string]any); len(strs(removed["tasks"])) != 2 {
		t.Errorf("removed from the base: %s", c.Body)
	}
	if got, customized := e.myPermissions(session, e.hourly); !customized || !got.Equal(clientele.Permissions{"tasks": {"view"}}) {
		t.Errorf("customized: %v", got)
	}
	// A role's change reaches every holder at once: nothing is copied.
	want(t, e.call("DELETE", path, e.owner, nil), 200)
	want(t, e.call("PATCH", "/v1/roles/"+editor, e.owner, map[string]any{"permissions": map[string]any{"documents": []string{"view"}}}), 200)
	if got, _ := e.myPermissions(session, e.hourly); len(got["documents"]) != 1 || slices.Contains(got["tasks"], "create") {
		t.Errorf("after the role changed: %v", got)
	}

	// The export names the roles.
	id := e.requestExport(map[string]any{"scope": "portal"})
	e.waitExports()
	body, _ := e.download(id)
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(recs[0], "roles")
	if col < 0 || len(recs) != 2 || recs[1][col] != "Commenter; Editor" {
		t.Errorf("export: %q", recs)
	}
}

// TestClientRolesLargePatch: a change too large for one transaction (a
// named user joining 25 projects while all 10 roles are swapped and the
// profile changes) is a 400 that writes nothing; in two requests it goes.
func TestClientRolesLargePatch(t *testing.T) {
	e := newUsersEnv(t)
	var before, after, projects []string
	for i := range 10 {
		before = append(before, e.role(fmt.Sprintf("Before %d", i), map[string]any{}))
		after = append(after, e.role(fmt.Sprintf("After %d", i), map[string]any{}))
	}
	for i := range 25 {
		projects = append(projects, e.createProject(fmt.Sprintf("Big %d", i), map[string]any{"companyIds": []string{e.company}}))
	}
	profile := e.profile("Big profile", map[string]any{"tasks": []string{"view"}})
	uid := e.addUser("big@example.com", map[string]any{"name": "Big User", "roleIds": before})
	r := e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"addProjectIds": projects, "roleIds": after, "profileId": profile})
	want(t, r, 400)
	u := e.call("GET", "/v1/users/"+uid, e.owner, nil)
	if u.Header.Get("ETag") != `"1"` || e.userCount(before[0]) != 1 || e.userCount(after[0]) != 0 {
		t.Fatalf("a refused change was written: %s", u.Body)
	}
	want(t, e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"roleIds": after, "profileId": profile}), 200)
	want(t, e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"addProjectIds": projects}), 200)
	e.consistent()
}
