package api_test

// The long run's client roles: the five role routes, roleIds on user
// writes, the holders listed with GET /v1/users?roleId=, deletes refused
// while a role is held, the base permissions a role adds, and a delete
// racing an assignment.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// lrRole is a role of the model; its holders are the model users whose
// roles name it.
type lrRole struct {
	id, name string
	perms    []string // flattened "module:action", sorted
	version  int
}

func (l *longRun) roleByID(id string) *lrRole {
	for _, r := range l.roles {
		if r.id == id {
			return r
		}
	}
	return nil
}

// roleHolders are the model users holding role id, by id.
func (l *longRun) roleHolders(id string) []string {
	var out []string
	for _, u := range l.users {
		if slices.Contains(u.roles, id) {
			out = append(out, u.id)
		}
	}
	slices.Sort(out)
	return out
}

// flatPerms flattens a permissions object of an answer (or a request) to
// sorted "module:action" strings.
func flatPerms(v any) []string {
	var out []string
	switch p := v.(type) {
	case map[string]any:
		for m, acts := range p {
			switch a := acts.(type) {
			case []any:
				for _, x := range a {
					out = append(out, m+":"+x.(string))
				}
			case []string:
				for _, x := range a {
					out = append(out, m+":"+x)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// createdRoles records the roles given to the users a POST /v1/users
// created.
func (l *longRun) createdRoles(r resp, roles []string) {
	for _, it := range r.JSON()["created"].([]any) {
		u := l.userByID(it.(map[string]any)["id"].(string))
		u.roles = slices.Clone(roles)
		l.checkUser(u, it.(map[string]any))
	}
}

// randomRoles is a random set of the model's roles (sorted; maybe empty).
func (l *longRun) randomRoles() []string {
	out := []string{}
	for _, r := range l.roles {
		if len(out) < 3 && l.chance(3) {
			out = append(out, r.id)
		}
	}
	slices.Sort(out)
	return out
}

// checkRole compares a role's answer with the model.
func (l *longRun) checkRole(r *lrRole, body map[string]any) {
	l.t.Helper()
	got := flatPerms(body["permissions"])
	if body["id"] != r.id || body["name"] != r.name || int(body["version"].(float64)) != r.version || !slices.Equal(got, r.perms) ||
		int(body["userCount"].(float64)) != len(l.roleHolders(r.id)) {
		l.fail("role %s: name %v version %v permissions %v userCount %v; the model has %q %d %v and %d holders",
			r.id, body["name"], body["version"], got, body["userCount"], r.name, r.version, r.perms, len(l.roleHolders(r.id)))
	}
}

// createRole creates a role (or, with 6, edits one).
func (l *longRun) createRole() *lrRole {
	if len(l.roles) >= 6 {
		return nil
	}
	name := fmt.Sprintf("LR Role %d", l.next())
	perms := l.randomPermissions()
	r := l.do("POST", "/v1/roles", l.writer(), map[string]any{"name": name, "permissions": perms}, 201)
	role := &lrRole{id: r.String("id"), name: name, perms: flatPerms(perms), version: 1}
	if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/v1/roles/"+role.id) {
		l.fail("POST /v1/roles: Location %q for role %s", loc, role.id)
	}
	l.roles = append(l.roles, role)
	l.checkRole(role, r.JSON())
	return role
}

// rolesAction: create, list, read and patch roles (a taken name is 409,
// a stale If-Match 412, a patch that changes nothing keeps the version).
func (l *longRun) rolesAction() {
	if len(l.roles) == 0 || (len(l.roles) < 6 && l.chance(2)) {
		l.createRole()
	}
	listed := l.all("/v1/roles", l.reader())
	if len(listed) != len(l.roles) {
		l.fail("%d roles listed, the model has %d", len(listed), len(l.roles))
	}
	for _, body := range listed {
		r := l.roleByID(body["id"].(string))
		if r == nil {
			l.fail("role %v is not in the model", body["id"])
		}
		l.checkRole(r, body)
	}
	role, ok := pick(l, l.roles)
	if !ok {
		return
	}
	got := l.do("GET", "/v1/roles/"+role.id, l.reader(), nil, 200)
	if got.Header.Get("ETag") != fmt.Sprintf(`"%d"`, role.version) {
		l.fail("GET /v1/roles/%s: ETag %q, the model's version %d", role.id, got.Header.Get("ETag"), role.version)
	}
	l.checkRole(role, got.JSON())
	switch {
	case len(l.roles) >= 2 && l.chance(5):
		other, _ := pick(l, filter(l.roles, func(r *lrRole) bool { return r != role }))
		l.do("PATCH", "/v1/roles/"+role.id, l.writer(), map[string]any{"name": strings.ToUpper(other.name)}, 409)
		return
	case l.chance(6):
		l.doH([]string{"If-Match", fmt.Sprintf(`"%d"`, role.version+1)}, "PATCH", "/v1/roles/"+role.id, l.writer(), map[string]any{"name": "Stale"}, 412)
		return
	case l.chance(6): // the same name and set: nothing changes
		r := l.do("PATCH", "/v1/roles/"+role.id, l.writer(), map[string]any{"name": role.name}, 200)
		l.checkRole(role, r.JSON())
		return
	}
	body := map[string]any{}
	name, perms := role.name, role.perms
	if l.chance(2) {
		name = fmt.Sprintf("LR Role %d", l.next())
		body["name"] = name
	}
	if len(body) == 0 || l.chance(2) {
		p := l.randomPermissions()
		perms = flatPerms(p)
		body["permissions"] = p
	}
	var headers []string
	if l.chance(3) {
		headers = []string{"If-Match", fmt.Sprintf(`"%d"`, role.version)}
	}
	r := l.doH(headers, "PATCH", "/v1/roles/"+role.id, l.writer(), body, 200)
	if name != role.name || !slices.Equal(perms, role.perms) {
		role.version++
	}
	role.name, role.perms = name, perms
	l.checkRole(role, r.JSON())
}

// listHolders checks GET /v1/users?roleId= (with status sometimes)
// against the model.
func (l *longRun) listHolders(role *lrRole) {
	l.t.Helper()
	path, want := "/v1/users?roleId="+role.id, l.roleHolders(role.id)
	if l.chance(3) {
		st := []string{"invited", "active", "deactivated"}[l.rng.IntN(3)]
		path += "&status=" + st
		want = filter(want, func(id string) bool { return l.userByID(id).status == st })
	}
	var got []string
	for _, u := range l.all(path, l.reader()) {
		got = append(got, u["id"].(string))
		if !slices.Contains(strs(u["roleIds"]), role.id) {
			l.fail("%s lists user %v, whose roleIds are %v", path, u["id"], u["roleIds"])
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		l.fail("%s lists %v, the model %v", path, got, want)
	}
}

// setRoles gives user u exactly roles with PATCH /v1/users/{userId}.
func (l *longRun) setRoles(u *lrUser, roles []string) {
	l.t.Helper()
	r := l.do("PATCH", "/v1/users/"+u.id, l.writer(), map[string]any{"roleIds": roles}, 200)
	before := u.roles
	u.roles = slices.Clone(roles)
	l.checkUser(u, r.JSON())
	if !slices.Equal(before, roles) && l.chance(4) {
		// The change is in the user's history, sorted from and to.
		h := l.do("GET", "/v1/users/"+u.id+"/history?limit=1", l.reader(), nil, 200).JSON()["items"].([]any)
		ch, _ := h[0].(map[string]any)["changes"].(map[string]any)["roleIds"].(map[string]any)
		if ch == nil || !slices.Equal(strs(ch["from"]), before) || !slices.Equal(strs(ch["to"]), roles) {
			l.fail("the newest history entry of user %s: %v; want changes.roleIds from %v to %v", u.id, h[0], before, roles)
		}
	}
}

// giveRole gives a role to a user or takes one away, then lists the
// role's holders.
func (l *longRun) giveRole() {
	role, ok := pick(l, l.roles)
	if !ok {
		l.createRole()
		return
	}
	u, ok := pick(l, l.users)
	if !ok {
		l.addUsers()
		return
	}
	next := slices.Clone(u.roles)
	switch {
	case slices.Contains(next, role.id):
		next = slices.DeleteFunc(next, func(id string) bool { return id == role.id })
	case l.chance(5):
		next = l.randomRoles()
	default:
		next = append(next, role.id)
		slices.Sort(next)
	}
	if next == nil {
		next = []string{}
	}
	l.setRoles(u, next)
	l.listHolders(role)
	if l.chance(3) {
		l.checkRole(role, l.do("GET", "/v1/roles/"+role.id, l.reader(), nil, 200).JSON())
	}
}

// deleteRole: a held role is 409 with its userCount; taken from its
// holders it deletes (204), its name is free again and it is gone.
func (l *longRun) deleteRole() {
	role, ok := pick(l, l.roles)
	if !ok {
		l.createRole()
		return
	}
	holders := l.roleHolders(role.id)
	if len(holders) > 0 {
		r := l.do("DELETE", "/v1/roles/"+role.id, l.writer(), nil, 409)
		l.stat("delete refused in use")
		if n, _ := r.JSON()["userCount"].(float64); int(n) != len(holders) {
			l.fail("DELETE of role %s held by %d users: 409 %s, want userCount %d", role.id, len(holders), r.Body, len(holders))
		}
		if len(holders) > 3 || l.chance(3) {
			return
		}
		l.listHolders(role)
		for _, id := range holders {
			u := l.userByID(id)
			l.setRoles(u, slices.DeleteFunc(slices.Clone(u.roles), func(x string) bool { return x == role.id }))
		}
	}
	if l.chance(4) {
		l.doH([]string{"If-Match", fmt.Sprintf(`"%d"`, role.version+1)}, "DELETE", "/v1/roles/"+role.id, l.writer(), nil, 412)
	}
	l.do("DELETE", "/v1/roles/"+role.id, l.writer(), nil, 204)
	l.stat(fmt.Sprintf("deleted after taking from %d holders", len(holders)))
	l.roles = slices.DeleteFunc(l.roles, func(r *lrRole) bool { return r == role })
	l.do("GET", "/v1/roles/"+role.id, l.reader(), nil, 404)
	if l.chance(2) {
		l.do("DELETE", "/v1/roles/"+role.id, l.writer(), nil, 404)
	}
	if l.chance(3) { // the name is free again; the old role is given to nobody
		perms := l.randomPermissions()
		r := l.do("POST", "/v1/roles", l.writer(), map[string]any{"name": role.name, "permissions": perms}, 201)
		again := &lrRole{id: r.String("id"), name: role.name, perms: flatPerms(perms), version: 1}
		l.roles = append(l.roles, again)
		l.checkRole(again, r.JSON())
	}
	if u, ok := pick(l, l.users); ok && l.chance(3) {
		r := l.do("PATCH", "/v1/users/"+u.id, l.writer(), map[string]any{"roleIds": append(slices.Clone(u.roles), role.id)}, 400)
		if !strings.Contains(string(r.Body), "roleIds") {
			l.fail("a deleted role given to user %s: 400 %s, want a field error on roleIds", u.id, r.Body)
		}
	}
}

// rolePermissions: where a role holder has no customization, the base
// and effective sets are the profile's united with the roles'.
func (l *longRun) rolePermissions() {
	type pair struct {
		u *lrUser
		p string
	}
	var cands []pair
	for _, u := range l.users {
		if len(u.roles) == 0 {
			continue
		}
		for p := range u.projects {
			cands = append(cands, pair{u, p})
		}
	}
	slices.SortFunc(cands, func(a, b pair) int { return strings.Compare(a.u.id+a.p, b.u.id+b.p) })
	c, ok := pick(l, cands)
	if !ok {
		l.giveRole()
		return
	}
	body := l.do("GET", "/v1/projects/"+c.p+"/users/"+c.u.id+"/permissions", l.reader(), nil, 200).JSON()
	base := flatPerms(body["profilePermissions"])
	for _, id := range c.u.roles {
		base = append(base, l.roleByID(id).perms...)
	}
	slices.Sort(base)
	base = slices.Compact(base)
	if got := flatPerms(body["basePermissions"]); !slices.Equal(got, base) || !slices.Equal(strs(body["roleIds"]), c.u.roles) {
		l.fail("user %s in project %s (roles %v): basePermissions %v roleIds %v; the profile's set united with the model's roles is %v",
			c.u.id, c.p, c.u.roles, got, body["roleIds"], base)
	}
	if body["customized"] != c.u.custom[c.p] {
		l.fail("user %s in project %s: customized %v, the model %v", c.u.id, c.p, body["customized"], c.u.custom[c.p])
	}
	l.stat("base permissions checked")
	if !c.u.custom[c.p] && !slices.Equal(flatPerms(body["permissions"]), base) {
		l.fail("user %s in project %s without a customization: permissions %v, want the base set %v", c.u.id, c.p, flatPerms(body["permissions"]), base)
	}
}

// roleDeleteRace: an unused role deleted while it is given to a user:
// one of the two fails (409 or 400 on roleIds), never both succeed.
func (l *longRun) roleDeleteRace() {
	unused := filter(l.roles, func(r *lrRole) bool { return len(l.roleHolders(r.id)) == 0 })
	role, ok := pick(l, unused)
	if !ok {
		role = l.createRole()
	}
	u, ok := pick(l, l.users)
	if role == nil || !ok {
		l.rolesAction()
		return
	}
	next := append(slices.Clone(u.roles), role.id)
	slices.Sort(next)
	tok := l.writer()
	out := l.burst(2, l.chance(2), func(i int) (resp, error) {
		if i == 0 {
			return l.try("DELETE", "/v1/roles/"+role.id, tok, nil)
		}
		return l.try("PATCH", "/v1/users/"+u.id, tok, map[string]any{"roleIds": next})
	})
	del, give := out[0], out[1]
	switch {
	case del.Status == 204 && give.Status == 400 && strings.Contains(string(give.Body), "roleIds"):
		l.stat("race: the delete won")
		l.roles = slices.DeleteFunc(l.roles, func(r *lrRole) bool { return r == role })
	case del.Status == 409 && give.Status == 200:
		l.stat("race: the assignment won")
		u.roles = next
		l.checkUser(u, give.JSON())
	default:
		l.fail("a delete of role %s racing its assignment to user %s: DELETE %d %s; PATCH %d %s (want 204 and 400 on roleIds, or 409 and 200)",
			role.id, u.id, del.Status, del.Body, give.Status, give.Body)
	}
	l.checkUser(u, l.do("GET", "/v1/users/"+u.id, l.reader(), nil, 200).JSON())
	if r := l.do("GET", "/v1/roles/"+role.id, l.reader(), nil, 200, 404); (r.Status == 404) != (l.roleByID(role.id) == nil) {
		l.fail("role %s answers %d after the race; the model has it: %v", role.id, r.Status, l.roleByID(role.id) != nil)
	} else if r.Status == 200 {
		l.checkRole(role, r.JSON())
	}
}

// reconcileRoles compares the portal's roles and their holders with the
// model.
func (l *longRun) reconcileRoles() {
	listed := l.all("/v1/roles", l.owner)
	ids := make([]string, 0, len(listed))
	for _, body := range listed {
		ids = append(ids, body["id"].(string))
		r := l.roleByID(body["id"].(string))
		if r == nil {
			l.fail("role %v is not in the model", body["id"])
		}
		l.checkRole(r, body)
	}
	var model []string
	for _, r := range l.roles {
		model = append(model, r.id)
	}
	slices.Sort(model)
	slices.Sort(ids)
	if !slices.Equal(ids, model) {
		l.fail("roles %v, the model %v", ids, model)
	}
	for _, r := range l.roles {
		l.listHolders(r)
	}
}

// rolesSummary says how much the run exercised the roles.
func (l *longRun) rolesSummary() string {
	held := 0
	for _, u := range l.users {
		if len(u.roles) > 0 {
			held++
		}
	}
	var routes []string
	for _, r := range l.e.st.Routes {
		if strings.HasPrefix(r.Path, "/v1/roles") {
			routes = append(routes, fmt.Sprintf("%s %d", r.Key(), l.covered[r.Key()]))
		}
	}
	var stats []string
	for _, k := range slices.Sorted(maps.Keys(l.roleStats)) {
		stats = append(stats, fmt.Sprintf("%s %d", k, l.roleStats[k]))
	}
	return fmt.Sprintf("%d roles at the end, %d users holding one; %s; %s", len(l.roles), held, strings.Join(stats, ", "), strings.Join(routes, ", "))
}

func (l *longRun) stat(what string) {
	if l.roleStats == nil {
		l.roleStats = map[string]int{}
	}
	l.roleStats[what]++
}
