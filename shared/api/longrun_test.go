package api_test

// One stack driven for a long time, as `make run` is: every route of
// template.yaml in a shuffled order, with races, cycles and re-creations,
// against a model of what the portal must hold.

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUnlinkThenFailedLoginThenList is the regression of the issue: a
// company taken off its only project (the project's companyIds, the
// company's projectIds and the user's projects all become empty sets), a
// failed sign-in of one of its client users, then the staff lists: every
// answer 200 and every list and entity shows the empty sets as empty.
func TestUnlinkThenFailedLoginThenList(t *testing.T) {
	e, tap := newTappedUsersEnv(t)
	c := e.createCompany("Unlinked Co")
	p := e.createProject("Unlinked project", map[string]any{"billing": "staff_hours"})
	want(t, e.call("POST", "/v1/projects/"+p+"/companies", e.owner, map[string]any{"companyId": c}), 201)
	uid := e.addUser("unlinked@example.com", map[string]any{"companyId": c, "projectIds": []string{p}, "ratePerHour": 80})
	accept := e.call("POST", "/v1/invites/"+url.PathEscape(inviteTokenOf(e.env, "unlinked@example.com"))+"/accept", "", map[string]any{"password": "right password"})
	want(t, accept, 200)

	want(t, e.call("DELETE", "/v1/projects/"+p+"/companies/"+c, e.owner, nil), 204)
	want(t, e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "unlinked@example.com", "password": "wrong password"}), 401)

	for _, path := range []string{
		"/v1/companies", "/v1/projects", "/v1/users",
		"/v1/companies/" + c, "/v1/projects/" + p, "/v1/users/" + uid,
		"/v1/companies/" + c + "/users", "/v1/projects/" + p + "/users", "/v1/users?projectId=" + p,
		"/v1/companies/" + c + "/history", "/v1/users/" + uid + "/history",
	} {
		r := e.call("GET", path, e.owner, nil)
		if r.Status != 200 {
			t.Errorf("%s", serverError(tap, "GET", path, r))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if pr := e.call("GET", "/v1/projects/"+p, e.owner, nil).JSON(); len(strs(pr["companyIds"])) != 0 || pr["primaryCompanyId"] != nil || pr["invoiceable"] != false {
		t.Fatalf("project after the unlink: %v", pr)
	}
	if co := e.call("GET", "/v1/companies/"+c, e.owner, nil).JSON(); len(strs(co["projectIds"])) != 0 {
		t.Fatalf("company after the unlink: %v", co)
	}
	if u := e.call("GET", "/v1/users/"+uid, e.owner, nil).JSON(); len(u["projects"].([]any)) != 0 || u["status"] != "active" {
		t.Fatalf("user after the unlink: %v", u)
	}
	if items := e.call("GET", "/v1/projects/"+p+"/users", e.owner, nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("project still lists %d members", len(items))
	}
	// The right password still signs in; the client is on no project.
	login := e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "unlinked@example.com", "password": "right password"})
	want(t, login, 200)
	if items := e.call("GET", "/v1/me/projects", login.String("token"), nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatalf("the client sees %d projects", len(items))
	}
	// Relinked, the sets fill again.
	want(t, e.call("POST", "/v1/projects/"+p+"/companies", e.owner, map[string]any{"companyId": c}), 201)
	if got := strs(e.call("GET", "/v1/companies/"+c, e.owner, nil).JSON()["projectIds"]); !slices.Equal(got, []string{p}) {
		t.Fatalf("projectIds after relinking: %v", got)
	}
	want(t, e.call("GET", "/v1/companies", e.owner, nil), 200)
	e.consistent()
}

// The model of the portal that the long run keeps.

type lrCompany struct {
	id, name string
	group    bool
}

type lrProject struct {
	id, name, billing string
	companies         map[string]bool
	primary           string
}

type lrUser struct {
	id, email, company, profile string
	status                      string // invited, active, deactivated
	access                      bool
	accepted                    bool
	projects                    map[string]bool
	custom                      map[string]bool // projects with customized permissions
	password                    string          // "" until accepted
	session                     string
	sessionEnds                 time.Time
	invite                      string // the link of the newest invitation, "" when none
	inviteEnds                  time.Time
	gateOpens                   time.Time // when a re-invite may go out
	failures                    int       // failed sign-ins in the window
	failEnds                    time.Time
	roles                       []string // role ids, sorted (roles_longrun_test.go)
}

func (u *lrUser) holdsSeat() bool { return u.access && u.status != "deactivated" }

// longRun drives one stack and keeps the model.
type longRun struct {
	t    *testing.T
	e    *env
	tap  *logTap
	rng  *rand.Rand
	seed uint64

	owner, admin, memberTok string // staff tokens, renewed when the clock moves

	mu       sync.Mutex // guards requests and covered (bursts count from goroutines)
	requests int
	covered  map[string]int
	action   string // the action running, for failure messages

	companies []*lrCompany
	projects  []*lrProject
	users     []*lrUser
	profiles  []string // custom profile ids
	roles     []*lrRole
	roleStats map[string]int       // outcomes of the role actions, for the summary
	signups   map[string]*lrSignup // by company id (signup_longrun_test.go)
	templates []string
	exports   []string
	seq       int
	mails     int // emails the mailbox must hold
	findings  map[string]bool
	crm       *lrCRM // the CRM side (crm_longrun_test.go)
}

// longRunSeed is the seed of the run: CLIENTELE_LONGRUN_SEED, or the clock.
func longRunSeed(t *testing.T) uint64 {
	if s := os.Getenv("CLIENTELE_LONGRUN_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CLIENTELE_LONGRUN_SEED=%q: %v", s, err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

// TestLongRun drives one stack through every route of template.yaml in a
// shuffled order (seeded: CLIENTELE_LONGRUN_SEED replays a run, and
// CLIENTELE_LONGRUN_REQUESTS sets its length, 2,000 requests by default),
// with bursts of parallel requests (seat limit, one Idempotency-Key,
// re-invite gate, primary company, links and unlinks racing member adds),
// unlink/relink cycles, deletes and re-creates, and reads of what exists.
// Every answer is checked against the OpenAPI document (the harness) and
// against the model: a 5xx fails at once with the request, its answer and
// its log line; the mailbox, seats, lists and entities must match the
// model; the table's invariants hold midway and at the end; and every
// route was exercised.
func TestLongRun(t *testing.T) {
	t.Parallel() // the longest tests overlap: each alone waits on DynamoDB Local more than it computes
	seed := longRunSeed(t)
	target := 2000
	if s := os.Getenv("CLIENTELE_LONGRUN_REQUESTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CLIENTELE_LONGRUN_REQUESTS=%q", s)
		}
		target = n
	}
	t.Logf("seed %d (replay with CLIENTELE_LONGRUN_SEED=%d)", seed, seed)
	e, tap := newTappedEnv(t)
	l := &longRun{t: t, e: e, tap: tap, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed: seed,
		covered: map[string]int{}, findings: map[string]bool{}}
	l.renewTokens()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d (replay with CLIENTELE_LONGRUN_SEED=%d), %d requests sent, during %q", seed, seed, l.requests, l.action)
		}
	})
	start := time.Now()
	actions := l.actions()
	spent, sentBy := map[string]time.Duration{}, map[string]int{}
	played, checked := 0, 0
	play := func(a lrAction) {
		l.action = a.name
		began, sent := time.Now(), l.requests
		a.run(l)
		spent[a.name] += time.Since(began)
		sentBy[a.name] += l.requests - sent
		played++
		if n := len(l.e.st.Mail.Messages()); n != l.mails {
			l.fail("the mailbox holds %d emails, the model %d", n, l.mails)
		}
		if l.requests-checked >= 800 {
			checked = l.requests
			l.action = "midway consistency check"
			l.e.waitExports()
			l.e.consistent()
		}
	}
	// Shuffled decks, each action as many times as its weight, until the
	// run has sent its requests (and at least one whole deck).
	decks := 0
	for decks == 0 || l.requests < target {
		var deck []lrAction
		for _, a := range actions {
			for range a.weight {
				deck = append(deck, a)
			}
		}
		l.rng.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
		decks++
		for _, a := range deck {
			if decks > 1 && l.requests >= target {
				break
			}
			play(a)
		}
	}
	// A route that chance left out (say, activate with no user deactivated
	// yet): every action once more, in a shuffled order, at most thrice.
	for pass := 0; pass < 3 && len(l.missed()) > 0; pass++ {
		deck := slices.Clone(actions)
		l.rng.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
		for _, a := range deck {
			play(a)
		}
	}
	l.action = "final checks"
	l.reconcile()
	l.e.waitExports()
	l.e.consistent()
	if missed := l.missed(); len(missed) > 0 {
		t.Errorf("%d routes of template.yaml were never exercised: %s", len(missed), strings.Join(missed, ", "))
	}
	least := ""
	for _, r := range e.st.Routes {
		if least == "" || l.covered[r.Key()] < l.covered[least] {
			least = r.Key()
		}
	}
	names := slices.SortedFunc(maps.Keys(spent), func(a, b string) int { return int(spent[b] - spent[a]) })
	var costly []string
	for _, n := range names[:min(8, len(names))] {
		costly = append(costly, fmt.Sprintf("%s %v/%d requests", n, spent[n].Round(time.Millisecond), sentBy[n]))
	}
	t.Logf("the costliest actions: %s", strings.Join(costly, "; "))
	t.Logf("the slowest routes (server time): %s", tap.slowest(6))
	t.Logf("CRM: %s", l.crm.summary())
	t.Logf("roles: %s", l.rolesSummary())
	t.Logf("%d requests, %d actions (%d decks), %d routes, the least exercised %s (%d times), in %v",
		l.requests, played, decks, len(e.st.Routes), least, l.covered[least], time.Since(start).Round(time.Millisecond))
}

// missed lists the routes of template.yaml not exercised yet.
func (l *longRun) missed() []string {
	var out []string
	for _, r := range l.e.st.Routes {
		if l.covered[r.Key()] == 0 {
			out = append(out, r.Key())
		}
	}
	return out
}

type lrAction struct {
	name   string
	weight int
	run    func(*longRun)
}

func (l *longRun) actions() []lrAction {
	return []lrAction{
		{"create company", 6, (*longRun).createCompany},
		{"duplicate company name", 1, (*longRun).duplicateCompany},
		{"read company", 7, (*longRun).readCompany},
		{"list companies", 3, (*longRun).listCompanies},
		{"patch company", 3, (*longRun).patchCompany},
		{"delete company", 2, (*longRun).deleteCompany},
		{"create project", 4, (*longRun).createProject},
		{"read project", 6, (*longRun).readProject},
		{"list projects", 2, (*longRun).listProjects},
		{"patch project", 2, (*longRun).patchProject},
		{"delete project", 1, (*longRun).deleteProject},
		{"link company", 5, (*longRun).linkCompany},
		{"link new company", 2, (*longRun).linkNewCompany},
		{"unlink company", 3, (*longRun).unlinkCompany},
		{"unlink, failed login, lists, relink", 3, (*longRun).unlinkCycle},
		{"set primary company", 3, (*longRun).setPrimary},
		{"add users", 6, (*longRun).addUsers},
		{"read user", 7, (*longRun).readUser},
		{"list users", 4, (*longRun).listUsers},
		{"patch user", 4, (*longRun).patchUser},
		{"delete user", 2, (*longRun).deleteUser},
		{"deactivate or activate", 3, (*longRun).toggleUser},
		{"reinvite", 3, (*longRun).reinvite},
		{"bulk reinvite", 2, (*longRun).bulkReinvite},
		{"advance the clock", 1, (*longRun).advanceClock},
		{"add members", 4, (*longRun).addMembers},
		{"member rate", 2, (*longRun).memberRate},
		{"remove member", 2, (*longRun).removeMember},
		{"permissions", 4, (*longRun).permissions},
		{"clone permissions", 2, (*longRun).clonePermissions},
		{"profiles", 3, (*longRun).profilesAction},
		{"delete profile", 1, (*longRun).deleteProfile},
		{"roles", 3, (*longRun).rolesAction},
		{"give or take a role", 3, (*longRun).giveRole},
		{"delete role", 1, (*longRun).deleteRole},
		{"role permissions", 2, (*longRun).rolePermissions},
		{"templates", 2, (*longRun).templatesAction},
		{"delete template", 1, (*longRun).deleteTemplate},
		{"portal", 3, (*longRun).portal},
		{"export", 1, (*longRun).export},
		{"import", 2, (*longRun).importUsers},
		{"crm connection and contacts", 2, (*longRun).crmAction},
		{"crm import", 2, (*longRun).crmImport},
		{"crm deal conversion", 2, (*longRun).crmConvert},
		{"sign-up link", 3, (*longRun).signupAction},
		{"disable a sign-up link", 1, (*longRun).disableSignup},
		{"accept invitation", 3, (*longRun).acceptInvite},
		{"accept invitation (page)", 1, (*longRun).acceptInvitePage},
		{"client session", 4, (*longRun).clientSession},
		{"wrong password", 2, (*longRun).wrongPassword},
		{"logout", 1, (*longRun).logout},
		{"password reset", 2, (*longRun).passwordReset},
		{"password change", 2, (*longRun).passwordChange},
		{"password reset (page)", 1, (*longRun).passwordResetPage},
		{"lockout", 1, (*longRun).lockout},
		{"stylesheet", 1, (*longRun).stylesheet},
		{"race: seat limit", 2, (*longRun).seatBurst},
		{"race: one Idempotency-Key", 3, (*longRun).sameKeyBurst},
		{"race: re-invite gate", 2, (*longRun).reinviteBurst},
		{"race: primary company", 1, (*longRun).primaryRace},
		{"race: links", 1, (*longRun).linkBurst},
		{"race: unlink against member adds", 1, (*longRun).unlinkRace},
		{"race: role delete against assignment", 1, (*longRun).roleDeleteRace},
	}
}

// Requests.

func (l *longRun) fail(format string, args ...any) {
	l.t.Helper()
	l.t.Fatalf("request %d, action %q: %s", l.requests, l.action, fmt.Sprintf(format, args...))
}

// finding records a wrong answer that leaves nothing changed, so the run
// goes on: the test fails at its end.
func (l *longRun) finding(format string, args ...any) {
	l.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if !l.findings[msg] {
		l.findings[msg] = true
		l.t.Errorf("action %q: %s", l.action, msg)
	}
}

func describeBody(body any) string {
	switch b := body.(type) {
	case nil:
		return "(none)"
	case csvBody:
		return string(b)
	case pageForm:
		return b.values.Encode()
	default:
		j, _ := json.Marshal(b)
		return string(j)
	}
}

// routeOf is the route of template.yaml a request goes to, as API Gateway
// matches it: the most literal segments win.
func (l *longRun) routeOf(method, path string) string {
	parts := strings.Split(strings.Trim(strings.SplitN(path, "?", 2)[0], "/"), "/")
	best, literal := "", -1
	for _, r := range l.e.st.Routes {
		segs := strings.Split(strings.Trim(r.Path, "/"), "/")
		if r.Method != method || len(segs) != len(parts) {
			continue
		}
		n, ok := 0, true
		for i, s := range segs {
			switch {
			case strings.HasPrefix(s, "{"):
			case s == parts[i]:
				n++
			default:
				ok = false
			}
		}
		if ok && n > literal {
			best, literal = r.Key(), n
		}
	}
	return best
}

// try sends a request, counts it and its route, and returns an error for
// an answer outside the OpenAPI document or a 5xx: for goroutines.
func (l *longRun) try(method, path, token string, body any, headers ...string) (resp, error) {
	route := l.routeOf(method, path)
	l.mu.Lock()
	l.requests++
	l.covered[route]++
	l.mu.Unlock()
	if route == "" {
		return resp{}, fmt.Errorf("%s %s is no route of template.yaml", method, path)
	}
	r, err := l.e.try(method, path, token, body, headers...)
	if err != nil {
		return r, err
	}
	if r.Status >= 500 {
		return r, fmt.Errorf("first 5xx: %s %s with body %s\nanswered %d %s\nlog: %s",
			method, path, describeBody(body), r.Status, r.Body, l.tap.of(r.Header.Get("X-Request-Id")))
	}
	return r, nil
}

// do sends a request and fails the run unless it answers one of ok (any
// non-5xx when ok is empty).
func (l *longRun) do(method, path, token string, body any, ok ...int) resp {
	l.t.Helper()
	return l.doH(nil, method, path, token, body, ok...)
}

func (l *longRun) doH(headers []string, method, path, token string, body any, ok ...int) resp {
	l.t.Helper()
	r, err := l.try(method, path, token, body, headers...)
	if err != nil {
		l.fail("%v", err)
	}
	if len(ok) > 0 && !slices.Contains(ok, r.Status) {
		l.fail("%s %s with body %s\nanswered %d %s; want %v\nlog: %s", method, path, describeBody(body), r.Status, r.Body, ok,
			l.tap.of(r.Header.Get("X-Request-Id")))
	}
	return r
}

// all reads every page of a list.
func (l *longRun) all(path, token string) []map[string]any {
	l.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	limit := []int{1, 3, 50, 200}[l.rng.IntN(4)]
	var out []map[string]any
	cursor := ""
	for range 500 {
		p := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := l.do("GET", p, token, nil, 200)
		for _, it := range r.JSON()["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		if cursor = r.String("nextCursor"); cursor == "" {
			return out
		}
		if limit < 50 && len(out) > 60 {
			limit = 200 // keep a long list cheap
		}
	}
	l.fail("%s did not end in 500 pages", path)
	return nil
}

// reader is a token that may read: any staff role.
func (l *longRun) reader() string {
	return []string{l.owner, l.admin, l.memberTok}[l.rng.IntN(3)]
}

// writer is a token that may write.
func (l *longRun) writer() string {
	if l.rng.IntN(4) == 0 {
		return l.admin
	}
	return l.owner
}

func (l *longRun) renewTokens() {
	l.owner = l.e.st.Token("demo", "owner", "lr-owner")
	l.admin = l.e.st.Token("demo", "admin", "lr-admin")
	l.memberTok = l.e.st.Token("demo", "member", "lr-member")
}

func (l *longRun) now() time.Time { return l.e.clock.Now() }

func (l *longRun) next() int { l.seq++; return l.seq }

func (l *longRun) chance(n int) bool { return l.rng.IntN(n) == 0 }

func pick[T any](l *longRun, xs []T) (T, bool) {
	var zero T
	if len(xs) == 0 {
		return zero, false
	}
	return xs[l.rng.IntN(len(xs))], true
}

func filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// Model lookups.

func (l *longRun) companyByID(id string) *lrCompany {
	for _, c := range l.companies {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (l *longRun) projectByID(id string) *lrProject {
	for _, p := range l.projects {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (l *longRun) userByID(id string) *lrUser {
	for _, u := range l.users {
		if u.id == id {
			return u
		}
	}
	return nil
}

func (l *longRun) usersOf(cid string) []*lrUser {
	return filter(l.users, func(u *lrUser) bool { return u.company == cid })
}

func (l *longRun) projectsOf(cid string) []string {
	var out []string
	for _, p := range l.projects {
		if p.companies[cid] {
			out = append(out, p.id)
		}
	}
	slices.Sort(out)
	return out
}

func (l *longRun) members(pid string) []*lrUser {
	return filter(l.users, func(u *lrUser) bool { return u.projects[pid] })
}

func (l *longRun) seats() int {
	return len(filter(l.users, (*lrUser).holdsSeat))
}

func (l *longRun) profileUsers(id string) int {
	return len(filter(l.users, func(u *lrUser) bool { return u.profile == id }))
}

// Model changes.

func (l *longRun) addCompanyModel(id, name string, group bool, projects []string) *lrCompany {
	c := &lrCompany{id: id, name: name, group: group}
	l.companies = append(l.companies, c)
	for _, pid := range projects {
		p := l.projectByID(pid)
		p.companies[id] = true
		if p.primary == "" {
			p.primary = id
		}
	}
	return c
}

func (l *longRun) removeUserModel(u *lrUser) {
	l.users = slices.DeleteFunc(l.users, func(x *lrUser) bool { return x == u })
}

func (l *longRun) removeCompanyModel(c *lrCompany) {
	for _, u := range l.usersOf(c.id) {
		l.removeUserModel(u)
	}
	for _, p := range l.projects {
		l.unlinkModel(p, c.id)
	}
	l.companies = slices.DeleteFunc(l.companies, func(x *lrCompany) bool { return x == c })
	delete(l.signups, c.id) // its sign-up link goes with it
}

func (l *longRun) unlinkModel(p *lrProject, cid string) {
	delete(p.companies, cid)
	if p.primary == cid {
		p.primary = ""
	}
	for _, u := range l.usersOf(cid) {
		delete(u.projects, p.id)
		delete(u.custom, p.id)
	}
}

func (l *longRun) removeProjectModel(p *lrProject) {
	for _, u := range l.users {
		delete(u.projects, p.id)
		delete(u.custom, p.id)
	}
	l.projects = slices.DeleteFunc(l.projects, func(x *lrProject) bool { return x == p })
}

// newUserModel records a user the API created at the current time.
func (l *longRun) newUserModel(id, email, company, profile string, access bool, projects []string, invited bool) *lrUser {
	if profile == "" {
		profile = "client"
	}
	u := &lrUser{id: id, email: email, company: company, profile: profile, status: "invited", access: access,
		projects: map[string]bool{}, custom: map[string]bool{}}
	for _, p := range projects {
		u.projects[p] = true
	}
	if access && invited {
		u.invite = inviteTokenOf(l.e, email)
		u.inviteEnds = l.now().Add(168 * time.Hour)
		u.gateOpens = l.now().Add(24 * time.Hour)
	}
	l.users = append(l.users, u)
	return u
}

// syncProject takes a project's companies and primary from the API.
func (l *longRun) syncProject(p *lrProject, body map[string]any) {
	p.companies = map[string]bool{}
	for _, c := range strs(body["companyIds"]) {
		p.companies[c] = true
	}
	p.primary, _ = body["primaryCompanyId"].(string)
}

// checkProject compares a project's answer with the model.
func (l *longRun) checkProject(p *lrProject, body map[string]any) {
	l.t.Helper()
	got := strs(body["companyIds"])
	slices.Sort(got)
	var want []string
	for c := range p.companies {
		want = append(want, c)
	}
	slices.Sort(want)
	primary, _ := body["primaryCompanyId"].(string)
	if !slices.Equal(got, want) || primary != p.primary || body["invoiceable"] != (p.primary != "") {
		l.fail("project %s: companyIds %v primary %q invoiceable %v; the model has %v and %q", p.id, got, primary, body["invoiceable"], want, p.primary)
	}
}

// checkUser compares a user's answer with the model.
func (l *longRun) checkUser(u *lrUser, body map[string]any) {
	l.t.Helper()
	var got, want, gotCustom, wantCustom []string
	for _, it := range body["projects"].([]any) {
		up := it.(map[string]any)
		got = append(got, up["projectId"].(string))
		if up["customizedPermissions"] == true {
			gotCustom = append(gotCustom, up["projectId"].(string))
		}
	}
	for p := range u.projects {
		want = append(want, p)
		if u.custom[p] {
			wantCustom = append(wantCustom, p)
		}
	}
	for _, s := range [][]string{got, want, gotCustom, wantCustom} {
		slices.Sort(s)
	}
	roles := strs(body["roleIds"])
	if body["status"] != u.status || body["companyId"] != u.company || body["portalAccess"] != u.access || body["profileId"] != u.profile ||
		!slices.Equal(got, want) || !slices.Equal(gotCustom, wantCustom) || !slices.Equal(roles, u.roles) {
		l.fail("user %s: status %v company %v access %v profile %v projects %v customized %v roles %v; the model has %s %s %v %s %v %v %v",
			u.id, body["status"], body["companyId"], body["portalAccess"], body["profileId"], got, gotCustom, roles,
			u.status, u.company, u.access, u.profile, want, wantCustom, u.roles)
	}
}

// Companies.

func (l *longRun) createCompany() {
	if len(l.companies) >= 14 {
		l.deleteCompany()
		return
	}
	name := fmt.Sprintf("LR Co %d", l.next())
	body := map[string]any{"name": name}
	var projects []string
	if p, ok := pick(l, l.projects); ok && l.chance(2) {
		projects = []string{p.id}
		body["projectIds"] = projects
	}
	group := l.chance(4)
	if group {
		body["createUserGroup"] = true
	}
	if l.chance(3) {
		body["type"], body["contactEmail"] = "individual", fmt.Sprintf("contact%d@example.com", l.seq)
	}
	r := l.do("POST", "/v1/companies", l.writer(), body, 201)
	if got := strs(r.JSON()["projectIds"]); !slices.Equal(got, projects) && !(len(got) == 0 && len(projects) == 0) {
		l.fail("created company has projectIds %v, want %v", got, projects)
	}
	l.addCompanyModel(r.String("id"), name, group, projects)
}

func (l *longRun) duplicateCompany() {
	c, ok := pick(l, l.companies)
	if !ok {
		l.createCompany()
		return
	}
	r := l.do("POST", "/v1/companies", l.writer(), map[string]any{"name": strings.ToUpper(c.name)}, 409)
	if r.String("existingCompanyId") != c.id {
		l.fail("409 names existingCompanyId %q, want %s", r.String("existingCompanyId"), c.id)
	}
}

func (l *longRun) readCompany() {
	c, ok := pick(l, l.companies)
	if !ok {
		l.createCompany()
		return
	}
	r := l.do("GET", "/v1/companies/"+c.id, l.reader(), nil, 200).JSON()
	got := strs(r["projectIds"])
	slices.Sort(got)
	if want := l.projectsOf(c.id); !slices.Equal(got, want) && len(got)+len(want) > 0 {
		l.fail("company %s projectIds %v, the model has %v", c.id, got, want)
	}
	if n := int(r["userCount"].(float64)); n != len(l.usersOf(c.id)) {
		l.fail("company %s userCount %d, the model has %d users", c.id, n, len(l.usersOf(c.id)))
	}
	if len(l.all("/v1/companies/"+c.id+"/history", l.reader())) == 0 {
		l.fail("company %s has no history", c.id)
	}
	if n := len(l.all("/v1/companies/"+c.id+"/users", l.reader())); n != len(l.usersOf(c.id)) {
		l.fail("company %s lists %d users, the model has %d", c.id, n, len(l.usersOf(c.id)))
	}
	if c.group {
		g := l.do("GET", "/v1/companies/"+c.id+"/group", l.reader(), nil, 200).JSON()
		if int(g["memberCount"].(float64)) != len(l.usersOf(c.id)) {
			l.fail("group of %s counts %v members, the model %d", c.id, g["memberCount"], len(l.usersOf(c.id)))
		}
	} else {
		l.do("GET", "/v1/companies/"+c.id+"/group", l.reader(), nil, 404)
	}
}

func (l *longRun) listCompanies() {
	path := "/v1/companies"
	want := len(l.companies)
	if l.chance(2) {
		path += "?q=lr%20co"
	}
	if got := l.all(path, l.reader()); len(got) != want {
		l.fail("%s lists %d companies, the model has %d", path, len(got), want)
	}
}

func (l *longRun) patchCompany() {
	c, ok := pick(l, l.companies)
	if !ok {
		l.createCompany()
		return
	}
	cur := l.do("GET", "/v1/companies/"+c.id, l.reader(), nil, 200)
	etag := cur.Header.Get("ETag")
	if l.chance(5) {
		l.doH([]string{"If-Match", `"999"`}, "PATCH", "/v1/companies/"+c.id, l.writer(), map[string]any{"website": "https://stale.example"}, 412)
		return
	}
	body := map[string]any{"website": fmt.Sprintf("https://w%d.example", l.next())}
	name := c.name
	if l.chance(3) {
		name = fmt.Sprintf("LR Co %d", l.next())
		body["name"] = name
	}
	r := l.doH([]string{"If-Match", etag}, "PATCH", "/v1/companies/"+c.id, l.writer(), body, 200)
	if r.String("name") != name {
		l.fail("patched name %q, want %q", r.String("name"), name)
	}
	c.name = name
}

func (l *longRun) deleteCompany() {
	c, ok := pick(l, l.companies)
	if !ok {
		return
	}
	notify := l.chance(2)
	l.do("DELETE", fmt.Sprintf("/v1/companies/%s?notify=%t", c.id, notify), l.writer(), nil, 204)
	if notify {
		l.mails += len(filter(l.usersOf(c.id), func(u *lrUser) bool { return u.access }))
	}
	l.removeCompanyModel(c)
	l.do("GET", "/v1/companies/"+c.id, l.reader(), nil, 404)
	if l.chance(2) { // the name is free again
		r := l.do("POST", "/v1/companies", l.writer(), map[string]any{"name": c.name}, 201)
		l.addCompanyModel(r.String("id"), c.name, false, nil)
	}
}

// Projects.

func (l *longRun) createProject() {
	if len(l.projects) >= 10 {
		l.deleteProject()
		return
	}
	name := fmt.Sprintf("LR Project %d", l.next())
	billing := []string{"staff_hours", "fixed", "none"}[l.rng.IntN(3)]
	var cids []string
	for range l.rng.IntN(3) {
		if c, ok := pick(l, l.companies); ok && !slices.Contains(cids, c.id) {
			cids = append(cids, c.id)
		}
	}
	r := l.do("POST", "/v1/projects", l.writer(), map[string]any{"name": name, "billing": billing, "companyIds": cids}, 201)
	p := &lrProject{id: r.String("id"), name: name, billing: billing}
	l.syncProject(p, r.JSON())
	if len(p.companies) != len(cids) || (len(cids) > 0 && !slices.Contains(cids, p.primary)) {
		l.fail("created project %s: %s, asked companyIds %v", p.id, r.Body, cids)
	}
	l.projects = append(l.projects, p)
}

func (l *longRun) readProject() {
	p, ok := pick(l, l.projects)
	if !ok {
		l.createProject()
		return
	}
	l.checkProject(p, l.do("GET", "/v1/projects/"+p.id, l.reader(), nil, 200).JSON())
	if n := len(l.all("/v1/projects/"+p.id+"/users", l.reader())); n != len(l.members(p.id)) {
		l.fail("project %s lists %d members, the model has %d", p.id, n, len(l.members(p.id)))
	}
}

func (l *longRun) listProjects() {
	if got := l.all("/v1/projects", l.reader()); len(got) != len(l.projects) {
		l.fail("%d projects listed, the model has %d", len(got), len(l.projects))
	}
}

func (l *longRun) patchProject() {
	p, ok := pick(l, l.projects)
	if !ok {
		l.createProject()
		return
	}
	name := fmt.Sprintf("LR Project %d", l.next())
	r := l.do("PATCH", "/v1/projects/"+p.id, l.writer(), map[string]any{"name": name}, 200)
	l.checkProject(p, r.JSON())
	p.name = name
}

func (l *longRun) deleteProject() {
	p, ok := pick(l, l.projects)
	if !ok {
		return
	}
	l.do("DELETE", "/v1/projects/"+p.id, l.writer(), nil, 204)
	l.removeProjectModel(p)
	l.do("GET", "/v1/projects/"+p.id, l.reader(), nil, 404)
	if l.chance(2) {
		r := l.do("POST", "/v1/projects", l.writer(), map[string]any{"name": p.name, "billing": p.billing}, 201)
		l.projects = append(l.projects, &lrProject{id: r.String("id"), name: p.name, billing: p.billing, companies: map[string]bool{}})
	}
}

// linkable picks a project and a company not on it.
func (l *longRun) linkable() (*lrProject, *lrCompany, bool) {
	for range 10 {
		p, ok1 := pick(l, l.projects)
		c, ok2 := pick(l, l.companies)
		if ok1 && ok2 && !p.companies[c.id] {
			return p, c, true
		}
	}
	return nil, nil, false
}

func (l *longRun) linkCompany() {
	p, c, ok := l.linkable()
	if !ok {
		l.createCompany()
		return
	}
	if l.chance(6) && len(p.companies) > 0 { // already on it
		for on := range p.companies {
			l.do("POST", "/v1/projects/"+p.id+"/companies", l.writer(), map[string]any{"companyId": on}, 409)
			break
		}
		return
	}
	body := map[string]any{"companyId": c.id}
	primary := p.primary == ""
	if l.chance(3) {
		primary = l.chance(2)
		body["primary"] = primary
	}
	r := l.do("POST", "/v1/projects/"+p.id+"/companies", l.writer(), body, 201)
	p.companies[c.id] = true
	if primary {
		p.primary = c.id
	}
	l.checkProject(p, r.JSON()["project"].(map[string]any))
}

func (l *longRun) linkNewCompany() {
	p, ok := pick(l, l.projects)
	if !ok || len(l.companies) >= 14 {
		l.linkCompany()
		return
	}
	name := fmt.Sprintf("LR Co %d", l.next())
	r := l.do("POST", "/v1/projects/"+p.id+"/companies", l.writer(), map[string]any{"company": map[string]any{"name": name}}, 201)
	l.addCompanyModel(r.JSON()["company"].(map[string]any)["id"].(string), name, false, []string{p.id})
	l.checkProject(p, r.JSON()["project"].(map[string]any))
}

// linked picks a project and one of its companies.
func (l *longRun) linked() (*lrProject, string, bool) {
	ps := filter(l.projects, func(p *lrProject) bool { return len(p.companies) > 0 })
	p, ok := pick(l, ps)
	if !ok {
		return nil, "", false
	}
	var cids []string
	for c := range p.companies {
		cids = append(cids, c)
	}
	slices.Sort(cids)
	c, _ := pick(l, cids)
	return p, c, true
}

func (l *longRun) unlinkCompany() {
	p, c, ok := l.linked()
	if !ok {
		l.linkCompany()
		return
	}
	if l.chance(6) { // a company not on it
		for _, x := range l.companies {
			if !p.companies[x.id] {
				l.do("DELETE", "/v1/projects/"+p.id+"/companies/"+x.id, l.writer(), nil, 404)
				return
			}
		}
	}
	l.do("DELETE", "/v1/projects/"+p.id+"/companies/"+c, l.writer(), nil, 204)
	l.unlinkModel(p, c)
}

// unlinkCycle is the regression's pattern, repeated: unlink, a failed
// sign-in, the staff lists, relink.
func (l *longRun) unlinkCycle() {
	p, c, ok := l.linked()
	if !ok {
		l.linkCompany()
		return
	}
	l.do("DELETE", "/v1/projects/"+p.id+"/companies/"+c, l.writer(), nil, 204)
	l.unlinkModel(p, c)
	l.wrongPassword()
	for _, path := range []string{"/v1/companies", "/v1/projects", "/v1/users"} {
		l.do("GET", path, l.reader(), nil, 200)
	}
	l.checkProject(p, l.do("GET", "/v1/projects/"+p.id, l.reader(), nil, 200).JSON())
	r := l.do("POST", "/v1/projects/"+p.id+"/companies", l.writer(), map[string]any{"companyId": c}, 201)
	p.companies[c] = true
	if p.primary == "" {
		p.primary = c
	}
	l.checkProject(p, r.JSON()["project"].(map[string]any))
}

func (l *longRun) setPrimary() {
	p, c, ok := l.linked()
	if !ok {
		l.linkCompany()
		return
	}
	if l.chance(6) {
		for _, x := range l.companies {
			if !p.companies[x.id] {
				l.do("PUT", "/v1/projects/"+p.id+"/primary-company", l.writer(), map[string]any{"companyId": x.id}, 409)
				return
			}
		}
	}
	r := l.do("PUT", "/v1/projects/"+p.id+"/primary-company", l.writer(), map[string]any{"companyId": c}, 200)
	p.primary = c
	l.checkProject(p, r.JSON())
}

// Users.

func (l *longRun) newEmail() string { return fmt.Sprintf("lr%d@example.com", l.next()) }

func (l *longRun) addUsers() {
	if len(l.users) >= 60 {
		l.deleteUser()
		return
	}
	c, ok := pick(l, l.companies)
	if !ok {
		l.createCompany()
		return
	}
	n := 1 + l.rng.IntN(2)
	var emails []string
	for range n {
		emails = append(emails, l.newEmail())
	}
	body := map[string]any{"emails": emails, "companyId": c.id}
	var projects []string
	for _, p := range l.projectsOf(c.id) {
		if l.chance(2) {
			projects = append(projects, p)
		}
	}
	if len(projects) > 0 {
		body["projectIds"] = projects
	}
	access := !l.chance(7)
	if !access {
		body["portalAccess"] = false
	}
	profile := ""
	if pr, ok := pick(l, l.profiles); ok && l.chance(3) {
		profile = pr
		body["profileId"] = pr
	}
	if n == 1 && l.chance(2) {
		body["name"] = "LR User " + strconv.Itoa(l.seq)
	}
	var roles []string
	if len(l.roles) > 0 && l.chance(3) {
		roles = l.randomRoles()
		body["roleIds"] = roles
	}
	if tmpl, ok := pick(l, l.templates); ok && access && l.chance(8) {
		body["templateId"] = tmpl
		r := l.do("POST", "/v1/users", l.writer(), body)
		if r.Status != 201 {
			l.finding("POST /v1/users with the templateId of an existing invitation template answered %d %s (api.md: the template chooses the invitations; only an unknown one is 400)", r.Status, r.Body)
			delete(body, "templateId")
		} else {
			l.recordAdded(r, c.id, profile, access, projects)
			l.createdRoles(r, roles)
			return
		}
	}
	var taken *lrUser
	if u, ok := pick(l, l.users); ok && body["name"] == nil && l.chance(6) {
		taken = u
		body["emails"] = append(slices.Clone(emails), strings.ToUpper(u.email))
	}
	status := 201
	if taken != nil {
		status = 207
	}
	r := l.do("POST", "/v1/users", l.writer(), body, status)
	if taken != nil {
		failed := r.JSON()["failed"].([]any)
		if len(failed) != 1 || failed[0].(map[string]any)["status"] != float64(409) || failed[0].(map[string]any)["existingUserId"] != taken.id {
			l.fail("the taken address: %s", r.Body)
		}
	}
	l.recordAdded(r, c.id, profile, access, projects)
	l.createdRoles(r, roles)
}

// recordAdded records the users a POST /v1/users created.
func (l *longRun) recordAdded(r resp, company, profile string, access bool, projects []string) {
	for _, it := range r.JSON()["created"].([]any) {
		u := it.(map[string]any)
		l.newUserModel(u["id"].(string), u["email"].(string), company, profile, access, projects, true)
		if access {
			l.mails++
		}
	}
}

func (l *longRun) readUser() {
	u, ok := pick(l, l.users)
	if !ok {
		l.addUsers()
		return
	}
	l.checkUser(u, l.do("GET", "/v1/users/"+u.id, l.reader(), nil, 200).JSON())
	if len(l.all("/v1/users/"+u.id+"/history", l.reader())) == 0 {
		l.fail("user %s has no history", u.id)
	}
}

func (l *longRun) listUsers() {
	path, want := "/v1/users", len(l.users)
	switch l.rng.IntN(4) {
	case 0:
		st := []string{"invited", "active", "deactivated"}[l.rng.IntN(3)]
		path, want = "/v1/users?status="+st, len(filter(l.users, func(u *lrUser) bool { return u.status == st }))
	case 1:
		if c, ok := pick(l, l.companies); ok {
			path, want = "/v1/users?companyId="+c.id, len(l.usersOf(c.id))
		}
	case 2:
		if p, ok := pick(l, l.projects); ok {
			path, want = "/v1/users?projectId="+p.id, len(l.members(p.id))
		}
	}
	if got := l.all(path, l.reader()); len(got) != want {
		l.fail("%s lists %d users, the model has %d", path, len(got), want)
	}
}

func (l *longRun) patchUser() {
	u, ok := pick(l, l.users)
	if !ok {
		l.addUsers()
		return
	}
	body := map[string]any{"title": fmt.Sprintf("Title %d", l.next())}
	if l.chance(3) {
		body["name"] = fmt.Sprintf("Name %d", l.seq)
	}
	if l.chance(4) {
		body["portalRate"] = float64(l.rng.IntN(200))
	}
	profile := u.profile
	if l.chance(3) {
		profile = "client"
		if pr, ok := pick(l, l.profiles); ok && l.chance(2) {
			profile = pr
		}
		body["profileId"] = profile
	}
	var add []string
	for _, p := range l.projectsOf(u.company) {
		if !u.projects[p] && len(add) < 2 && l.chance(2) {
			add = append(add, p)
		}
	}
	if len(add) > 0 {
		body["addProjectIds"] = add
	}
	notify := l.chance(3)
	if notify {
		body["notify"] = true
	}
	roles := u.roles
	if len(l.roles) > 0 && l.chance(4) {
		roles = l.randomRoles()
		body["roleIds"] = roles
	}
	r := l.do("PATCH", "/v1/users/"+u.id, l.writer(), body, 200)
	u.profile, u.roles = profile, roles
	for _, p := range add {
		u.projects[p] = true
	}
	if notify && u.access {
		l.mails++
	}
	l.checkUser(u, r.JSON())
}

func (l *longRun) deleteUser() {
	u, ok := pick(l, l.users)
	if !ok {
		return
	}
	notify := l.chance(2)
	l.do("DELETE", fmt.Sprintf("/v1/users/%s?notify=%t", u.id, notify), l.writer(), nil, 204)
	if notify && u.access {
		l.mails++
	}
	l.removeUserModel(u)
	l.do("GET", "/v1/users/"+u.id, l.reader(), nil, 404)
	if l.chance(2) && l.companyByID(u.company) != nil { // the address is free again
		r := l.do("POST", "/v1/users", l.writer(), map[string]any{"emails": u.email, "companyId": u.company}, 201)
		l.recordAdded(r, u.company, "", true, nil)
	}
}

func (l *longRun) toggleUser() {
	u, ok := pick(l, l.users)
	if !ok {
		l.addUsers()
		return
	}
	if off, ok := pick(l, filter(l.users, func(u *lrUser) bool { return u.status == "deactivated" })); ok && l.chance(2) {
		u = off
	}
	var r resp
	if u.status != "deactivated" {
		r = l.do("POST", "/v1/users/"+u.id+"/deactivate", l.writer(), nil, 200)
		u.status, u.session = "deactivated", ""
		if l.chance(4) { // again: nothing changes
			r = l.do("POST", "/v1/users/"+u.id+"/deactivate", l.writer(), nil, 200)
		}
	} else {
		r = l.do("POST", "/v1/users/"+u.id+"/activate", l.writer(), nil, 200)
		u.status = "invited"
		if u.accepted {
			u.status = "active"
		}
	}
	l.checkUser(u, r.JSON())
}

// reinviteOutcome is what the model expects of re-inviting u now: 202,
// 409 (not invited with portal access) or 429 (the gate).
func (l *longRun) reinviteOutcome(u *lrUser) int {
	switch {
	case !u.access || u.status != "invited":
		return 409
	case l.now().Before(u.gateOpens):
		return 429
	}
	return 202
}

// reinvited records an invitation sent to u now.
func (l *longRun) reinvited(u *lrUser) {
	old := u.invite
	u.invite = inviteTokenOf(l.e, u.email)
	if u.invite == old {
		l.fail("the re-invitation of %s reused the link", u.id)
	}
	u.inviteEnds, u.gateOpens = l.now().Add(168*time.Hour), l.now().Add(24*time.Hour)
	l.mails++
	if old != "" {
		l.do("GET", "/v1/invites/"+url.PathEscape(old), "", nil, 404)
	}
}

func (l *longRun) reinvite() {
	u, ok := pick(l, l.users)
	if !ok {
		l.addUsers()
		return
	}
	want := l.reinviteOutcome(u)
	r := l.do("POST", "/v1/users/"+u.id+"/reinvite", l.writer(), nil)
	if r.Status != want && want == 409 && r.Status == 429 && l.now().Before(u.gateOpens) {
		l.finding("POST /v1/users/{userId}/reinvite of a user who is not re-invitable (status %s, portal access %v) inside the 24 h window answered 429, not 409: api.md says the state is checked before the gate", u.status, u.access)
		return
	}
	if r.Status != want {
		l.fail("re-invite of %s (status %s, access %v): %d %s, want %d", u.id, u.status, u.access, r.Status, r.Body, want)
	}
	if want == 429 && r.String("reinviteAvailableAt") == "" {
		l.fail("429 without reinviteAvailableAt: %s", r.Body)
	}
	if want == 202 {
		l.reinvited(u)
	}
}

func (l *longRun) bulkReinvite() {
	var ids []string
	var body map[string]any
	if l.chance(3) {
		for _, u := range l.users {
			if u.status == "invited" && u.access {
				ids = append(ids, u.id)
			}
		}
		body = map[string]any{"status": "invited"}
	} else {
		for range 1 + l.rng.IntN(4) {
			if u, ok := pick(l, l.users); ok && !slices.Contains(ids, u.id) {
				ids = append(ids, u.id)
			}
		}
		if len(ids) == 0 {
			l.addUsers()
			return
		}
		body = map[string]any{"userIds": ids}
	}
	r := l.do("POST", "/v1/users/reinvite", l.writer(), body, 200)
	got := map[string]string{}
	for _, it := range r.JSON()["results"].([]any) {
		m := it.(map[string]any)
		got[m["userId"].(string)] = m["outcome"].(string)
	}
	if len(got) != len(ids) {
		l.fail("%d results for %d users: %s", len(got), len(ids), r.Body)
	}
	for _, id := range ids {
		u := l.userByID(id)
		want := map[int]string{202: "sent", 409: "conflict", 429: "gated"}[l.reinviteOutcome(u)]
		if want == "conflict" && got[id] == "gated" && l.now().Before(u.gateOpens) {
			l.finding("POST /v1/users/reinvite: a user who is not re-invitable (status %s, portal access %v) inside the 24 h window is \"gated\", not \"conflict\" (the state is to be checked before the gate)", u.status, u.access)
			continue
		}
		if got[id] != want {
			l.fail("bulk re-invite of %s (status %s, access %v): %q, the model expects %q", id, u.status, u.access, got[id], want)
		}
		if want == "sent" {
			l.reinvited(u)
		}
	}
}

// advanceClock moves the stack's clock a day (or, rarely, 16 minutes):
// gates open, sessions and links expire.
func (l *longRun) advanceClock() {
	d := 25 * time.Hour
	if l.chance(3) {
		d = 16 * time.Minute
	}
	l.e.clock.Advance(d)
	l.renewTokens()
	for _, u := range l.users {
		if u.session != "" && !l.now().Before(u.sessionEnds) {
			u.session = ""
		}
	}
}

// Project members and permissions.

// eligible are the users who may join p: their company is on it and
// they are not on it yet.
func (l *longRun) eligible(p *lrProject) []*lrUser {
	return filter(l.users, func(u *lrUser) bool { return p.companies[u.company] && !u.projects[p.id] && len(u.projects) < 25 })
}

func (l *longRun) addMembers() {
	ps := filter(l.projects, func(p *lrProject) bool { return len(l.eligible(p)) > 0 })
	p, ok := pick(l, ps)
	if !ok {
		l.addUsers()
		return
	}
	var ids []string
	for _, u := range l.eligible(p) {
		if len(ids) < 3 && (len(ids) == 0 || l.chance(2)) {
			ids = append(ids, u.id)
		}
	}
	body := map[string]any{"userIds": ids}
	if p.billing == "staff_hours" && l.chance(2) {
		body["ratePerHour"] = float64(50 + l.rng.IntN(100))
	}
	status := 201
	outsider := filter(l.users, func(u *lrUser) bool { return !p.companies[u.company] })
	if o, ok := pick(l, outsider); ok && l.chance(5) {
		body["userIds"] = append(slices.Clone(ids), o.id)
		status = 207
	}
	r := l.do("POST", "/v1/projects/"+p.id+"/users", l.writer(), body, status)
	if n := len(r.JSON()["added"].([]any)); n != len(ids) {
		l.fail("%d added, want %d: %s", n, len(ids), r.Body)
	}
	for _, id := range ids {
		l.userByID(id).projects[p.id] = true
	}
}

// member picks a project member.
func (l *longRun) member() (*lrProject, *lrUser, bool) {
	ps := filter(l.projects, func(p *lrProject) bool { return len(l.members(p.id)) > 0 })
	p, ok := pick(l, ps)
	if !ok {
		return nil, nil, false
	}
	u, _ := pick(l, l.members(p.id))
	return p, u, true
}

func (l *longRun) memberRate() {
	p, u, ok := l.member()
	if !ok {
		l.addMembers()
		return
	}
	var rate any
	if p.billing == "staff_hours" {
		rate = float64(l.rng.IntN(300))
	}
	l.checkUser(u, l.do("PATCH", "/v1/projects/"+p.id+"/users/"+u.id, l.writer(), map[string]any{"ratePerHour": rate}, 200).JSON())
}

func (l *longRun) removeMember() {
	p, u, ok := l.member()
	if !ok {
		l.addMembers()
		return
	}
	notify := l.chance(2)
	l.do("DELETE", fmt.Sprintf("/v1/projects/%s/users/%s?notify=%t", p.id, u.id, notify), l.writer(), nil, 204)
	delete(u.projects, p.id)
	delete(u.custom, p.id)
	if notify && u.access {
		l.mails++
	}
	l.do("DELETE", "/v1/projects/"+p.id+"/users/"+u.id, l.writer(), nil, 404)
}

var lrModules = []string{"tasks", "issues", "milestones", "timesheets", "documents", "discussions"}
var lrActions = []string{"view", "create", "edit", "delete", "comment"}

func (l *longRun) randomPermissions() map[string]any {
	perms := map[string]any{}
	for _, m := range lrModules {
		if l.chance(2) {
			var acts []string
			for _, a := range lrActions {
				if l.chance(2) {
					acts = append(acts, a)
				}
			}
			if len(acts) > 0 {
				perms[m] = acts
			}
		}
	}
	return perms
}

func (l *longRun) permissions() {
	p, u, ok := l.member()
	if !ok {
		l.addMembers()
		return
	}
	type pair struct {
		p *lrProject
		u *lrUser
	}
	var customized []pair
	for _, x := range l.projects {
		for _, m := range l.members(x.id) {
			if m.custom[x.id] {
				customized = append(customized, pair{x, m})
			}
		}
	}
	reset := false
	if c, ok := pick(l, customized); ok && l.chance(2) {
		p, u, reset = c.p, c.u, true
	}
	path := "/v1/projects/" + p.id + "/users/" + u.id + "/permissions"
	if got := l.do("GET", path, l.reader(), nil, 200).JSON()["customized"]; got != u.custom[p.id] {
		l.fail("%s: customized %v, the model %v", path, got, u.custom[p.id])
	}
	if reset {
		if r := l.do("DELETE", path, l.writer(), nil, 200); r.JSON()["customized"] != false {
			l.fail("DELETE %s: %s", path, r.Body)
		}
		delete(u.custom, p.id)
		return
	}
	r := l.do("PUT", path, l.writer(), map[string]any{"permissions": l.randomPermissions()}, 200)
	if r.JSON()["customized"] != true {
		l.fail("PUT %s: %s", path, r.Body)
	}
	u.custom[p.id] = true
	// A non-member has no permissions there.
	if o, ok := pick(l, filter(l.users, func(x *lrUser) bool { return !x.projects[p.id] })); ok && l.chance(4) {
		l.do("GET", "/v1/projects/"+p.id+"/users/"+o.id+"/permissions", l.reader(), nil, 404)
	}
}

func (l *longRun) clonePermissions() {
	p, src, ok := l.member()
	if !ok {
		l.addMembers()
		return
	}
	var targets []string
	for _, m := range l.members(p.id) {
		if m != src && len(targets) < 3 {
			targets = append(targets, m.id)
		}
	}
	if len(targets) == 0 {
		l.permissions()
		return
	}
	path := "/v1/projects/" + p.id + "/users/" + src.id + "/permissions/clone"
	if !src.custom[p.id] {
		l.do("POST", path, l.writer(), map[string]any{"targetUserIds": targets}, 409)
		return
	}
	r := l.do("POST", path, l.writer(), map[string]any{"targetUserIds": targets}, 200)
	for _, it := range r.JSON()["results"].([]any) {
		m := it.(map[string]any)
		if o := m["outcome"]; o != "cloned" && o != "unchanged" {
			l.fail("clone to %v: %v", m["userId"], m)
		}
		l.userByID(m["userId"].(string)).custom[p.id] = true
	}
}

// Profiles and templates.

func (l *longRun) profilesAction() {
	if len(l.profiles) < 6 && (len(l.profiles) == 0 || l.chance(2)) {
		r := l.do("POST", "/v1/profiles", l.writer(), map[string]any{"name": fmt.Sprintf("LR Profile %d", l.next()), "permissions": l.randomPermissions()}, 201)
		l.profiles = append(l.profiles, r.String("id"))
	}
	if n := len(l.all("/v1/profiles", l.reader())); n != len(l.profiles)+1 {
		l.fail("%d profiles listed, the model has %d and the built-in one", n, len(l.profiles))
	}
	id, _ := pick(l, append([]string{"client"}, l.profiles...))
	r := l.do("GET", "/v1/profiles/"+id, l.reader(), nil, 200).JSON()
	if int(r["userCount"].(float64)) != l.profileUsers(id) && id != "client" {
		l.fail("profile %s userCount %v, the model %d", id, r["userCount"], l.profileUsers(id))
	}
	if id == "client" {
		l.do("PATCH", "/v1/profiles/client", l.writer(), map[string]any{"name": "Mine"}, 409)
		return
	}
	l.do("PATCH", "/v1/profiles/"+id, l.writer(), map[string]any{"name": fmt.Sprintf("LR Profile %d", l.next()), "permissions": l.randomPermissions()}, 200)
}

func (l *longRun) deleteProfile() {
	id, ok := pick(l, l.profiles)
	if !ok {
		l.profilesAction()
		return
	}
	if l.profileUsers(id) > 0 {
		l.do("DELETE", "/v1/profiles/"+id, l.writer(), nil, 409)
		return
	}
	l.do("DELETE", "/v1/profiles/"+id, l.writer(), nil, 204)
	l.profiles = slices.DeleteFunc(l.profiles, func(x string) bool { return x == id })
}

func (l *longRun) templatesAction() {
	if len(l.templates) < 6 && (len(l.templates) == 0 || l.chance(2)) {
		r := l.do("POST", "/v1/invitation-templates", l.writer(), map[string]any{"name": fmt.Sprintf("LR Template %d", l.next()),
			"subject": "Join {{.PortalName}}", "body": "Hello {{.UserName}} of {{.CompanyName}}: {{.InviteURL}}"}, 201)
		l.templates = append(l.templates, r.String("id"))
	}
	l.all("/v1/invitation-templates", l.reader())
	id, ok := pick(l, l.templates)
	if !ok {
		return
	}
	l.do("GET", "/v1/invitation-templates/"+id, l.reader(), nil, 200)
	l.do("PATCH", "/v1/invitation-templates/"+id, l.writer(), map[string]any{"name": fmt.Sprintf("LR Template %d", l.next())}, 200)
}

func (l *longRun) deleteTemplate() {
	id, ok := pick(l, l.templates)
	if !ok {
		l.templatesAction()
		return
	}
	l.do("DELETE", "/v1/invitation-templates/"+id, l.writer(), nil, 204)
	l.templates = slices.DeleteFunc(l.templates, func(x string) bool { return x == id })
	l.do("GET", "/v1/invitation-templates/"+id, l.reader(), nil, 404)
}

// The portal, exports and imports.

func (l *longRun) portal() {
	r := l.do("GET", "/v1/portal", l.reader(), nil, 200).JSON()
	if int(r["seatsUsed"].(float64)) != l.seats() {
		l.fail("seatsUsed %v, the model holds %d seats", r["seatsUsed"], l.seats())
	}
	if l.chance(2) {
		l.do("PATCH", "/v1/portal", l.writer(), map[string]any{"name": fmt.Sprintf("Demo Portal %d", l.next())}, 200)
	}
}

func (l *longRun) export() {
	body := map[string]any{"scope": "portal"}
	if p, ok := pick(l, l.projects); ok && l.chance(2) {
		body = map[string]any{"scope": "project", "projectIds": []string{p.id}}
	}
	r := l.do("POST", "/v1/exports", l.writer(), body, 202)
	l.exports = append(l.exports, r.String("id"))
	id, _ := pick(l, l.exports)
	if st := l.do("GET", "/v1/exports/"+id, l.writer(), nil, 200).String("status"); st == "failed" {
		l.fail("export %s failed", id)
	}
	if n := len(l.all("/v1/exports", l.writer())); n != len(l.exports) {
		l.fail("%d exports listed, the model has %d", n, len(l.exports))
	}
}

func (l *longRun) importUsers() {
	p, ok := pick(l, l.projects)
	if !ok || len(l.users) >= 60 {
		l.createProject()
		return
	}
	email := l.newEmail()
	company := fmt.Sprintf("LR Co %d", l.next())
	var existing *lrCompany
	if c, ok := pick(l, l.companies); ok && l.chance(2) {
		existing, company = c, c.name
	} else if len(l.companies) >= 14 {
		return
	}
	// Project names may repeat after a delete and re-create; the import
	// takes the first of a name, so only a unique name is sent.
	if len(filter(l.projects, func(x *lrProject) bool { return strings.EqualFold(x.name, p.name) })) > 1 {
		return
	}
	file := csvBody("email,name,company,projects,ratePerHour,profile\n" + email + ",Imported," + company + "," + p.name + ",,\n")
	if l.chance(3) {
		r := l.do("POST", "/v1/imports?dryRun=true", l.writer(), file, 200).JSON()
		if r["created"] != float64(1) || r["dryRun"] != true {
			l.fail("dry run: %v", r)
		}
	}
	r := l.do("POST", "/v1/imports", l.writer(), file, 200).JSON()
	if r["created"] != float64(1) || len(r["errors"].([]any)) != 0 {
		l.fail("import: %v", r)
	}
	users := l.all("/v1/users?q="+url.QueryEscape(email), l.reader())
	if len(users) != 1 {
		l.fail("%d users imported as %s", len(users), email)
	}
	cid := users[0]["companyId"].(string)
	if existing == nil {
		existing = l.addCompanyModel(cid, company, false, nil)
	} else if existing.id != cid {
		l.fail("the import put %s in company %s, not %s", email, cid, existing.id)
	}
	l.syncProject(p, l.do("GET", "/v1/projects/"+p.id, l.reader(), nil, 200).JSON())
	if !p.companies[cid] {
		l.fail("the imported user's company %s is not on project %s", cid, p.id)
	}
	// An imported user is not sent an invitation; the gate is open.
	u := l.newUserModel(users[0]["id"].(string), email, cid, "", true, []string{p.id}, false)
	l.checkUser(u, users[0])
}

// Invitations and client sessions.

func (l *longRun) openInvite() (*lrUser, bool) {
	return pick(l, filter(l.users, func(u *lrUser) bool {
		return u.status == "invited" && u.invite != "" && (l.now().Before(u.inviteEnds.Add(-time.Minute)) || l.now().After(u.inviteEnds.Add(time.Minute)))
	}))
}

func (l *longRun) accepted(u *lrUser, password, session string) {
	u.status, u.accepted, u.password, u.invite = "active", true, password, ""
	if session != "" {
		u.session, u.sessionEnds = session, l.now().Add(12*time.Hour)
	}
}

func (l *longRun) acceptInvite() {
	u, ok := l.openInvite()
	if !ok {
		l.addUsers()
		return
	}
	path := "/v1/invites/" + url.PathEscape(u.invite)
	if !l.now().Before(u.inviteEnds) {
		l.do("GET", path, "", nil, 410)
		l.do("POST", path+"/accept", "", map[string]any{"password": "long enough pw"}, 410)
		return
	}
	if r := l.do("GET", path, "", nil, 200); r.String("email") != u.email {
		l.fail("invitation of %s shows %s", u.email, r.Body)
	}
	password := fmt.Sprintf("password %d", l.next())
	r := l.do("POST", path+"/accept", "", map[string]any{"password": password}, 200)
	l.accepted(u, password, r.String("token"))
	l.do("GET", path, "", nil, 404) // single use
}

// formOf loads a page and returns its form's CSRF token and cookie.
func (l *longRun) formOf(path string) pageForm {
	r := l.do("GET", path, "", nil, 200)
	cookie, _, _ := strings.Cut(r.Header.Get("Set-Cookie"), ";")
	return pageForm{values: url.Values{"csrf": {csrf(l.t, r)}}, cookie: cookie}
}

func (l *longRun) acceptInvitePage() {
	u, ok := l.openInvite()
	if !ok || !l.now().Before(u.inviteEnds) {
		l.acceptInvite()
		return
	}
	path := "/portal/invite/" + url.PathEscape(u.invite)
	f := l.formOf(path)
	password := fmt.Sprintf("password %d", l.next())
	f.values.Set("password", password)
	l.do("POST", path, "", f, 200)
	l.accepted(u, password, "")
}

// signedIn picks an active user with a password and a live session,
// signing in when needed; ok false when there is none.
func (l *longRun) signedIn() (*lrUser, bool) {
	u, ok := pick(l, filter(l.users, func(u *lrUser) bool { return u.status == "active" && u.password != "" && !l.locked(u) }))
	if !ok {
		return nil, false
	}
	if u.session == "" {
		r := l.do("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": u.email, "password": u.password}, 200)
		u.session, u.sessionEnds, u.failures = r.String("token"), l.now().Add(12*time.Hour), 0
	}
	return u, true
}

func (l *longRun) locked(u *lrUser) bool { return u.failures >= 5 && l.now().Before(u.failEnds) }

func (l *longRun) clientSession() {
	u, ok := l.signedIn()
	if !ok {
		l.acceptInvite()
		return
	}
	if me := l.do("GET", "/v1/me", u.session, nil, 200); me.String("id") != u.id {
		l.fail("/v1/me of %s is %s", u.id, me.Body)
	}
	items := l.do("GET", "/v1/me/projects", u.session, nil, 200).JSON()["items"].([]any)
	if len(items) != len(u.projects) {
		l.fail("%s sees %d projects, the model has %d", u.id, len(items), len(u.projects))
	}
	for _, it := range items {
		m := it.(map[string]any)
		if pid := m["projectId"].(string); !u.projects[pid] || m["customizedPermissions"] != u.custom[pid] {
			l.fail("%s sees project %v, the model: member %v customized %v", u.id, m, u.projects[pid], u.custom[pid])
		}
	}
	l.do("PATCH", "/v1/me", u.session, map[string]any{"title": fmt.Sprintf("Client title %d", l.next()),
		"timeFormat": []string{"12h", "24h"}[l.rng.IntN(2)]}, 200)
	l.do("GET", "/v1/me", l.owner, nil, 401) // a staff token opens no /v1/me
}

// wrongPassword fails a sign-in of an active user (never to the lockout).
func (l *longRun) wrongPassword() {
	u, ok := pick(l, filter(l.users, func(u *lrUser) bool {
		return u.status == "active" && u.password != "" && (u.failures < 3 || !l.now().Before(u.failEnds))
	}))
	if !ok {
		l.do("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": l.newEmail(), "password": "unknown address"}, 401)
		return
	}
	l.do("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": u.email, "password": "not the password"}, 401)
	l.failed(u)
}

func (l *longRun) failed(u *lrUser) {
	if !l.now().Before(u.failEnds) {
		u.failures, u.failEnds = 0, l.now().Add(15*time.Minute)
	}
	u.failures++
}

func (l *longRun) logout() {
	u, ok := l.signedIn()
	if !ok {
		l.acceptInvite()
		return
	}
	l.do("POST", "/v1/portal/logout", u.session, nil, 204)
	l.do("GET", "/v1/me", u.session, nil, 401)
	u.session = ""
}

// resetCode returns the code of the newest email to u.
func (l *longRun) resetCode(u *lrUser) string {
	for _, m := range l.e.st.Mail.Messages() {
		if m.To[0] == u.email {
			if code := codePattern.FindString(m.Text); code != "" {
				return code
			}
			break
		}
	}
	l.fail("no reset code mailed to %s", u.email)
	return ""
}

func (l *longRun) passwordReset() {
	u, ok := l.signedIn()
	if !ok {
		l.do("POST", "/v1/portal/password-reset", "", map[string]any{"portalId": "demo", "email": l.newEmail()}, 202)
		return
	}
	old := u.session
	l.do("POST", "/v1/portal/password-reset", "", map[string]any{"portalId": "demo", "email": u.email}, 202)
	l.mails++
	code := l.resetCode(u)
	password := fmt.Sprintf("password %d", l.next())
	l.do("POST", "/v1/portal/password-reset/confirm", "", map[string]any{"portalId": "demo", "email": u.email, "code": code, "newPassword": password}, 204)
	u.password, u.session = password, ""
	l.do("GET", "/v1/me", old, nil, 401) // every session ended
}

// passwordChange changes a signed-in user's password: a new session, the
// old one ended.
func (l *longRun) passwordChange() {
	u, ok := l.signedIn()
	if !ok {
		l.acceptInvite()
		return
	}
	old, password := u.session, fmt.Sprintf("password %d", l.next())
	r := l.do("POST", "/v1/me/password", u.session, map[string]any{"currentPassword": u.password, "newPassword": password}, 200)
	u.password, u.session, u.sessionEnds, u.failures = password, r.String("token"), l.now().Add(12*time.Hour), 0
	l.do("GET", "/v1/me", old, nil, 401)
}

func (l *longRun) passwordResetPage() {
	u, ok := l.signedIn()
	f := l.formOf("/portal/reset?portal=demo")
	f.values.Set("step", "request")
	f.values.Set("portalId", "demo")
	if !ok {
		f.values.Set("email", l.newEmail())
		l.do("POST", "/portal/reset", "", f, 200)
		return
	}
	f.values.Set("email", u.email)
	r := l.do("POST", "/portal/reset", "", f, 200)
	l.mails++
	confirm := pageForm{values: url.Values{"csrf": {csrf(l.t, r)}, "step": {"confirm"}, "portalId": {"demo"}, "email": {u.email}}, cookie: f.cookie}
	if c, _, _ := strings.Cut(r.Header.Get("Set-Cookie"), ";"); c != "" {
		confirm.cookie = c
	}
	password := fmt.Sprintf("password %d", l.next())
	confirm.values.Set("code", l.resetCode(u))
	confirm.values.Set("newPassword", password)
	l.do("POST", "/portal/reset", "", confirm, 200)
	u.password, u.session = password, ""
}

// lockout: five wrong passwords lock the address, even for the right one,
// for 15 minutes.
func (l *longRun) lockout() {
	u, ok := l.signedIn()
	if !ok || l.chance(2) { // six password checks: the costliest action
		l.wrongPassword()
		return
	}
	for !l.locked(u) {
		l.do("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": u.email, "password": "not the password"}, 401)
		l.failed(u)
	}
	l.do("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": u.email, "password": u.password}, 429)
	l.e.clock.Advance(16 * time.Minute)
	l.renewTokens()
	r := l.do("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": u.email, "password": u.password}, 200)
	u.session, u.sessionEnds, u.failures = r.String("token"), l.now().Add(12*time.Hour), 0
}

func (l *longRun) stylesheet() {
	if r := l.do("GET", "/portal/assets/style.css", "", nil, 200); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		l.fail("stylesheet Content-Type %q", r.Header.Get("Content-Type"))
	}
}

// Races.

type lrAnswer struct {
	resp
	err error
}

// burst sends n requests at once, with conflicts injected into the
// transactions (odd ones, at most twice each) when conflict.
func (l *longRun) burst(n int, conflict bool, send func(i int) (resp, error)) []lrAnswer {
	if conflict {
		l.e.st.Dynamo.Inject(newConflicts(2).inject)
		defer l.e.st.Dynamo.Inject(nil)
	}
	out := parallel(n, func(i int) lrAnswer {
		r, err := send(i)
		return lrAnswer{r, err}
	})
	for _, a := range out {
		if a.err != nil {
			l.fail("in a burst: %v", a.err)
		}
	}
	return out
}

// seatBurst: k seats free, more parallel adds: exactly k added.
func (l *longRun) seatBurst() {
	c, ok := pick(l, l.companies)
	if !ok || len(l.users) >= 55 {
		l.createCompany()
		return
	}
	k, n := 1+l.rng.IntN(3), 5+l.rng.IntN(6)
	l.do("PATCH", "/v1/portal", l.writer(), map[string]any{"clientSeatLimit": l.seats() + k}, 200)
	emails := make([]string, n)
	for i := range emails {
		emails[i] = l.newEmail()
	}
	tok := l.writer()
	out := l.burst(n, l.chance(2), func(i int) (resp, error) {
		return l.try("POST", "/v1/users", tok, map[string]any{"emails": emails[i], "companyId": c.id})
	})
	added := 0
	for _, a := range out {
		switch {
		case a.Status == 201:
			added++
			l.recordAdded(a.resp, c.id, "", true, nil)
		case a.Status == 409 && problemType(a.resp) == "/problems/seat-limit":
		default:
			l.fail("seat burst answer %d %s", a.Status, a.Body)
		}
	}
	if added != k {
		l.fail("%d of %d parallel adds got one of the %d free seats", added, n, k)
	}
	l.portal()
	l.do("PATCH", "/v1/portal", l.writer(), map[string]any{"clientSeatLimit": nil}, 200)
}

// sameKeyBurst: one Idempotency-Key from many goroutines creates once.
func (l *longRun) sameKeyBurst() {
	type create struct {
		path string
		body any
		ok   int
		list string
		want func() int
		done func(r resp)
	}
	var cases []create
	if len(l.companies) < 14 {
		name := fmt.Sprintf("LR Co %d", l.next())
		cases = append(cases, create{"/v1/companies", map[string]any{"name": name}, 201, "/v1/companies",
			func() int { return len(l.companies) }, func(r resp) { l.addCompanyModel(r.String("id"), name, false, nil) }})
	}
	if len(l.projects) < 10 {
		name := fmt.Sprintf("LR Project %d", l.next())
		cases = append(cases, create{"/v1/projects", map[string]any{"name": name, "billing": "fixed"}, 201, "/v1/projects",
			func() int { return len(l.projects) }, func(r resp) {
				l.projects = append(l.projects, &lrProject{id: r.String("id"), name: name, billing: "fixed", companies: map[string]bool{}})
			}})
	}
	if c, ok := pick(l, l.companies); ok && len(l.users) < 60 {
		email := l.newEmail()
		cases = append(cases, create{"/v1/users", map[string]any{"emails": email, "companyId": c.id}, 201, "/v1/users",
			func() int { return len(l.users) }, func(r resp) { l.recordAdded(r, c.id, "", true, nil) }})
	}
	if len(l.profiles) < 6 {
		cases = append(cases, create{"/v1/profiles", map[string]any{"name": fmt.Sprintf("LR Profile %d", l.next()), "permissions": map[string]any{}}, 201, "/v1/profiles",
			func() int { return len(l.profiles) + 1 }, func(r resp) { l.profiles = append(l.profiles, r.String("id")) }})
	}
	if len(l.roles) < 6 {
		name, perms := fmt.Sprintf("LR Role %d", l.next()), l.randomPermissions()
		cases = append(cases, create{"/v1/roles", map[string]any{"name": name, "permissions": perms}, 201, "/v1/roles",
			func() int { return len(l.roles) }, func(r resp) {
				l.roles = append(l.roles, &lrRole{id: r.String("id"), name: name, perms: flatPerms(perms), version: 1})
			}})
	}
	if len(cases) == 0 || l.chance(4) { // an export costs the worker a run
		cases = append(cases, create{"/v1/exports", map[string]any{"scope": "portal"}, 202, "/v1/exports",
			func() int { return len(l.exports) }, func(r resp) { l.exports = append(l.exports, r.String("id")) }})
	}
	cr, _ := pick(l, cases)
	key := fmt.Sprintf("lr-key-%d", l.next())
	tok := l.writer()
	out := l.burst(5+l.rng.IntN(6), l.chance(3), func(int) (resp, error) {
		return l.try("POST", cr.path, tok, cr.body, "Idempotency-Key", key)
	})
	var original *resp
	for i, a := range out {
		switch {
		case a.Status == cr.ok && a.Header.Get("Idempotent-Replayed") == "":
			if original != nil {
				l.fail("two requests with Idempotency-Key %s did the work:\n%s\n%s", key, original.Body, a.Body)
			}
			original = &out[i].resp
		case a.Status == cr.ok && a.Header.Get("Idempotent-Replayed") == "true":
		case a.Status == 409 && problemType(a.resp) == "/problems/in-progress" && a.Header.Get("Retry-After") != "":
		default:
			l.fail("POST %s with one key: %d %s", cr.path, a.Status, a.Body)
		}
	}
	if original == nil {
		l.fail("POST %s with one key: no request did the work", cr.path)
	}
	for _, a := range out {
		if a.Status == cr.ok && string(a.Body) != string(original.Body) {
			l.fail("a replay differs:\n%s\n%s", a.Body, original.Body)
		}
	}
	cr.done(*original)
	again := l.doH([]string{"Idempotency-Key", key}, "POST", cr.path, tok, cr.body, cr.ok)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(original.Body) {
		l.fail("after the burst the key answered %s", again.Body)
	}
	if n := len(l.all(cr.list, l.writer())); n != cr.want() {
		l.fail("%s lists %d, the model %d: the burst did not create exactly once", cr.list, n, cr.want())
	}
}

// reinviteBurst: parallel re-invites of one user with the gate open send
// one invitation.
func (l *longRun) reinviteBurst() {
	u, ok := pick(l, filter(l.users, func(u *lrUser) bool { return l.reinviteOutcome(u) == 202 }))
	if !ok {
		l.reinvite()
		return
	}
	tok := l.writer()
	out := l.burst(5+l.rng.IntN(6), l.chance(2), func(int) (resp, error) {
		return l.try("POST", "/v1/users/"+u.id+"/reinvite", tok, nil)
	})
	sent := 0
	for _, a := range out {
		switch a.Status {
		case 202:
			sent++
		case 429:
		default:
			l.fail("re-invite burst answer %d %s", a.Status, a.Body)
		}
	}
	if sent != 1 {
		l.fail("%d parallel re-invites sent an invitation, want exactly 1", sent)
	}
	l.reinvited(u)
}

// primaryRace: each company of a project made primary at once: all 200,
// and one of them is the primary after.
func (l *longRun) primaryRace() {
	p, ok := pick(l, filter(l.projects, func(p *lrProject) bool { return len(p.companies) >= 2 }))
	if !ok {
		l.linkCompany()
		return
	}
	var cids []string
	for c := range p.companies {
		cids = append(cids, c)
	}
	slices.Sort(cids)
	tok := l.writer()
	l.burst(2*len(cids), l.chance(2), func(i int) (resp, error) {
		r, err := l.try("PUT", "/v1/projects/"+p.id+"/primary-company", tok, map[string]any{"companyId": cids[i%len(cids)]})
		if err == nil && r.Status != 200 {
			err = fmt.Errorf("PUT primary-company %s: %d %s", cids[i%len(cids)], r.Status, r.Body)
		}
		return r, err
	})
	body := l.do("GET", "/v1/projects/"+p.id, l.reader(), nil, 200).JSON()
	primary, _ := body["primaryCompanyId"].(string)
	if !slices.Contains(cids, primary) {
		l.fail("after the race the primary is %q, not one of %v", primary, cids)
	}
	p.primary = primary
	l.checkProject(p, body)
}

// linkBurst: several companies added to one project at once all join it.
func (l *longRun) linkBurst() {
	p, ok := pick(l, l.projects)
	if !ok {
		l.createProject()
		return
	}
	var cids []string
	for _, c := range l.companies {
		if !p.companies[c.id] && len(cids) < 4 {
			cids = append(cids, c.id)
		}
	}
	if len(cids) < 2 {
		l.linkNewCompany()
		return
	}
	hadPrimary := p.primary != ""
	tok := l.writer()
	l.burst(len(cids), l.chance(2), func(i int) (resp, error) {
		r, err := l.try("POST", "/v1/projects/"+p.id+"/companies", tok, map[string]any{"companyId": cids[i]})
		if err == nil && r.Status != 201 {
			err = fmt.Errorf("POST companies %s: %d %s", cids[i], r.Status, r.Body)
		}
		return r, err
	})
	before := p.primary
	body := l.do("GET", "/v1/projects/"+p.id, l.reader(), nil, 200).JSON()
	for _, c := range cids {
		p.companies[c] = true
	}
	primary, _ := body["primaryCompanyId"].(string)
	if hadPrimary && primary != before || !hadPrimary && !slices.Contains(cids, primary) {
		l.fail("after parallel links the primary is %q (before %q, linked %v)", primary, before, cids)
	}
	p.primary = primary
	l.checkProject(p, body)
}

// unlinkRace: a company leaves a project while its users are being added
// to it: whatever the order, none of them is left on the project.
func (l *longRun) unlinkRace() {
	p, c, ok := l.linked()
	if !ok {
		l.linkCompany()
		return
	}
	var ids []string
	for _, u := range l.usersOf(c) {
		if !u.projects[p.id] {
			ids = append(ids, u.id)
		}
	}
	if len(ids) == 0 {
		l.unlinkCycle()
		return
	}
	tok := l.writer()
	out := l.burst(2, l.chance(2), func(i int) (resp, error) {
		if i == 0 {
			return l.try("DELETE", "/v1/projects/"+p.id+"/companies/"+c, tok, nil)
		}
		return l.try("POST", "/v1/projects/"+p.id+"/users", tok, map[string]any{"userIds": ids})
	})
	if out[0].Status != 204 {
		l.fail("the unlink answered %d %s", out[0].Status, out[0].Body)
	}
	if s := out[1].Status; s != 201 && s != 207 && s != 409 && s != 404 {
		l.fail("the member add answered %d %s", s, out[1].Body)
	}
	l.unlinkModel(p, c)
	for _, m := range l.all("/v1/projects/"+p.id+"/users", l.reader()) {
		if m["companyId"] == c {
			l.fail("user %v of company %s is on project %s after the company left it", m["id"], c, p.id)
		}
	}
	for _, id := range ids {
		l.checkUser(l.userByID(id), l.do("GET", "/v1/users/"+id, l.reader(), nil, 200).JSON())
	}
}

// reconcile compares the whole portal with the model.
func (l *longRun) reconcile() {
	var want, got []string
	for _, c := range l.companies {
		want = append(want, c.id)
	}
	for _, c := range l.all("/v1/companies", l.owner) {
		got = append(got, c["id"].(string))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		l.fail("companies %v, the model %v", got, want)
	}
	listed := l.all("/v1/projects", l.owner)
	if len(listed) != len(l.projects) {
		l.fail("%d projects, the model %d", len(listed), len(l.projects))
	}
	for _, body := range listed {
		p := l.projectByID(body["id"].(string))
		if p == nil {
			l.fail("project %v is not in the model", body["id"])
		}
		l.checkProject(p, body)
	}
	users := l.all("/v1/users", l.owner)
	if len(users) != len(l.users) {
		l.fail("%d users, the model %d", len(users), len(l.users))
	}
	for _, body := range users {
		u := l.userByID(body["id"].(string))
		if u == nil {
			l.fail("user %v is not in the model", body["id"])
		}
		l.checkUser(u, body)
	}
	l.reconcileRoles()
	l.portal()
}

// slowest sums the latency_ms of the log's request lines by route and
// returns the n routes that took longest.
func (l *logTap) slowest(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	total, count := map[string]float64{}, map[string]int{}
	for _, s := range l.lines {
		var line struct {
			Msg     string  `json:"msg"`
			Route   string  `json:"route"`
			Latency float64 `json:"latency_ms"`
		}
		if json.Unmarshal([]byte(s), &line) == nil && line.Msg == "request" {
			total[line.Route] += line.Latency
			count[line.Route]++
		}
	}
	routes := slices.SortedFunc(maps.Keys(total), func(a, b string) int { return int(total[b] - total[a]) })
	var out []string
	for _, r := range routes[:min(n, len(routes))] {
		out = append(out, fmt.Sprintf("%s %.0f ms/%d (%.1f ms each)", r, total[r], count[r], total[r]/float64(count[r])))
	}
	return strings.Join(out, "; ")
}
