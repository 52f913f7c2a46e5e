package api_test

// Concurrency on the real DynamoDB Local: the same Idempotency-Key from 20
// goroutines on every staff POST, the seat limit and the re-invite gate
// under parallel requests with transactions cancelled by conflicts, and
// conflicts that never clear.

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientele/clientele/infra/dynamodblocal"
	"github.com/clientele/clientele/infra/template"
)

// logTap keeps the stack's request log: every line, so that a failure can
// quote the one of a request (by its X-Request-Id), and the whole log on
// failure. It never calls t.Log from Write, so a line written after the
// test ended cannot panic.
type logTap struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTap) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		if s != "" {
			l.lines = append(l.lines, s)
		}
	}
	return len(p), nil
}

// of returns the log lines of request id.
func (l *logTap) of(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if id != "" && strings.Contains(s, `"request_id":"`+id+`"`) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "(no log line for request " + id + ")"
	}
	return strings.Join(out, "\n")
}

// tail is the last n lines.
func (l *logTap) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-n):], "\n")
}

// newTappedEnv is newEnv with the log kept by a logTap, shown when the test
// fails.
func newTappedEnv(t *testing.T) (*env, *logTap) {
	t.Helper()
	tap := &logTap{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of the stack's log:\n%s", tap.tail(60))
		}
	})
	return newEnvLog(t, tap), tap
}

// newTappedUsersEnv is newUsersEnv with a logTap.
func newTappedUsersEnv(t *testing.T) (usersEnv, *logTap) {
	t.Helper()
	e, tap := newTappedEnv(t)
	c := e.createCompany("Client Co")
	return usersEnv{env: e, company: c,
		hourly: e.createProject("Hourly", map[string]any{"billing": "staff_hours", "companyIds": []string{c}}),
		fixed:  e.createProject("Fixed", map[string]any{"billing": "fixed", "companyIds": []string{c}})}, tap
}

// serverError describes a 5xx answer: the request, the body and the
// stack's log line of it.
func serverError(tap *logTap, method, path string, r resp) string {
	return fmt.Sprintf("%s %s answered %d\nbody: %s\nlog: %s", method, path, r.Status, r.Body, tap.of(r.Header.Get("X-Request-Id")))
}

// problemType is the type of a problem+json answer.
func problemType(r resp) string { return r.String("type") }

// conflicts cancels TransactWriteItems with TransactionConflict, as
// DynamoDB does when another transaction holds one of the items: every
// one whose count N at the proxy is odd, but never the same transaction
// (the same writes, whatever its ClientRequestToken) more than maxPer
// times, so that every write gets through within transact's re-sends and
// any 5xx is the API's fault. maxPer < 0 cancels every transaction; 0
// none (it only counts them).
type conflicts struct {
	maxPer   int
	mu       sync.Mutex
	seen     map[[32]byte]int
	sent     atomic.Int64 // TransactWriteItems that reached the proxy
	injected atomic.Int64 // of them cancelled
}

func newConflicts(maxPer int) *conflicts {
	return &conflicts{maxPer: maxPer, seen: map[[32]byte]int{}}
}

func (c *conflicts) inject(d dynamodblocal.Request) *dynamodblocal.Fault {
	if d.Op != "TransactWriteItems" {
		return nil
	}
	c.sent.Add(1)
	if c.maxPer < 0 {
		c.injected.Add(1)
		return &dynamodblocal.Fault{Conflict: true}
	}
	if c.maxPer == 0 || d.N%2 == 0 {
		return nil
	}
	k := writesKey(d.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[k] >= c.maxPer {
		return nil
	}
	c.seen[k]++
	c.injected.Add(1)
	return &dynamodblocal.Fault{Conflict: true}
}

// writesKey identifies a TransactWriteItems by its writes: the body,
// canonical (the SDK writes an item's attributes in map order, which
// varies from one sending to the next), without its ClientRequestToken.
func writesKey(body []byte) [32]byte {
	var in map[string]any
	if json.Unmarshal(body, &in) != nil {
		return sha256.Sum256(body)
	}
	delete(in, "ClientRequestToken")
	b, _ := json.Marshal(in) // every object's keys sorted
	return sha256.Sum256(b)
}

// countAll counts the items of a list, page by page.
func (e *env) countAll(path, token string) int {
	e.t.Helper()
	n, cursor := 0, ""
	for {
		p := path + "?limit=200"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.call("GET", p, token, nil)
		want(e.t, r, 200)
		n += len(r.JSON()["items"].([]any))
		if cursor = r.String("nextCursor"); cursor == "" {
			return n
		}
	}
}

// entityRef is an entity a request names, by the role it plays in the
// request ("path userId", "body userIds[1]", "answer id"), so that the
// effects of two requests on different entities compare.
type entityRef struct{ role, kind, id string }

var kindOfParam = map[string]string{
	"companyId": "company", "companyIds": "company", "projectId": "project", "projectIds": "project",
	"userId": "user", "userIds": "user", "targetUserIds": "user", "profileId": "profile", "templateId": "template", "exportId": "export",
	"roleId": "role", "roleIds": "role",
}

var entityPath = map[string]string{
	"company": "/v1/companies/", "project": "/v1/projects/", "user": "/v1/users/",
	"profile": "/v1/profiles/", "template": "/v1/invitation-templates/", "export": "/v1/exports/", "role": "/v1/roles/",
}

// kindOfCollection is what POST to a collection creates.
var kindOfCollection = map[string]string{
	"/v1/companies": "company", "/v1/projects": "project", "/v1/profiles": "profile",
	"/v1/invitation-templates": "template", "/v1/exports": "export", "/v1/roles": "role",
}

// refsOf lists the entities that route r's request req names in its path
// and body, and that its answer (when given) names.
func refsOf(r template.Route, req faultReq, answer *resp) (refs []entityRef) {
	pattern, path := strings.Split(r.Path, "/"), strings.Split(strings.SplitN(req.path, "?", 2)[0], "/")
	for i, seg := range pattern {
		if name := strings.Trim(seg, "{}"); name != seg && kindOfParam[name] != "" && i < len(path) {
			refs = append(refs, entityRef{"path " + name, kindOfParam[name], path[i]})
		}
	}
	if body, ok := req.body.(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(body)) {
			kind := kindOfParam[k]
			if kind == "" {
				continue
			}
			switch v := body[k].(type) {
			case string:
				refs = append(refs, entityRef{"body " + k, kind, v})
			case []string:
				for i, id := range v {
					refs = append(refs, entityRef{fmt.Sprintf("body %s[%d]", k, i), kind, id})
				}
			}
		}
	}
	if answer == nil {
		return refs
	}
	named := map[string]bool{}
	for _, ref := range refs {
		named[ref.id] = true
	}
	defer func() { // an answer's entity that the request named is counted once, by that name
		refs = slices.DeleteFunc(refs, func(ref entityRef) bool {
			if !strings.HasPrefix(ref.role, "answer ") {
				return false
			}
			dup := named[ref.id]
			named[ref.id] = true
			return dup
		})
	}()
	a := answer.JSON()
	if id, _ := a["id"].(string); id != "" && kindOfCollection[r.Path] != "" {
		refs = append(refs, entityRef{"answer id", kindOfCollection[r.Path], id})
	}
	for _, list := range []string{"created", "added"} {
		items, _ := a[list].([]any)
		for i, it := range items {
			refs = append(refs, entityRef{fmt.Sprintf("answer %s[%d]", list, i), "user", it.(map[string]any)["id"].(string)})
		}
	}
	for _, kind := range []string{"company", "project"} {
		if m, ok := a[kind].(map[string]any); ok {
			refs = append(refs, entityRef{"answer " + kind, kind, m["id"].(string)})
		}
	}
	return refs
}

// effect is what a request changed, by name: the length of every staff
// list of the portal, the emails sent and, for each entity it names, its
// version (or existence), its userCount (profiles and roles: a user write
// moves the counts of the ones it gives or takes, not their versions) and
// the length of its history.
type effect map[string]int

// listNames are the portal-wide counts an effect holds.
var listNames = []string{"companies", "projects", "users", "profiles", "roles", "templates", "exports", "emails"}

func (e *env) observe(refs []entityRef) effect {
	e.t.Helper()
	staff := e.st.Token("demo", "owner", "observer")
	out := effect{"emails": len(e.st.Mail.Messages())}
	for name, path := range map[string]string{"companies": "/v1/companies", "projects": "/v1/projects", "users": "/v1/users",
		"profiles": "/v1/profiles", "roles": "/v1/roles", "templates": "/v1/invitation-templates", "exports": "/v1/exports"} {
		out[name] = e.countAll(path, staff)
	}
	for _, ref := range refs {
		r := e.call("GET", entityPath[ref.kind]+ref.id, staff, nil)
		switch {
		case r.Status == 404:
			continue
		case r.Status != 200:
			e.t.Fatalf("GET %s %s: %d %s", ref.kind, ref.id, r.Status, r.Body)
		}
		if v, ok := r.JSON()["version"].(float64); ok {
			out[ref.role+" version"] = int(v)
		} else {
			out[ref.role+" exists"] = 1
		}
		if n, ok := r.JSON()["userCount"].(float64); ok {
			out[ref.role+" userCount"] = int(n)
		}
		if ref.kind == "user" || ref.kind == "company" {
			out[ref.role+" history"] = e.countAll(entityPath[ref.kind]+ref.id+"/history", staff)
		}
	}
	return out
}

// minus is the change from before to e, without the zeros.
func (e effect) minus(before effect) effect {
	d := effect{}
	for k, v := range e {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	for k, v := range before {
		if _, ok := e[k]; !ok && v != 0 {
			d[k] = -v
		}
	}
	return d
}

func (e effect) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(e)) {
		parts = append(parts, fmt.Sprintf("%s %+d", k, e[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// sameKeyCreates is, per staff POST route, what one request adds to the
// portal's lists and mailbox (nothing where absent).
var sameKeyCreates = map[string]effect{
	"POST /v1/companies":                         {"companies": 1},
	"POST /v1/companies/{companyId}/signup-link": {},                                        // a link is in no list
	"POST /v1/crm/deals/{dealId}/convert":        {"projects": 1, "companies": 1},           // a deal of an account new to the portal; no mail
	"POST /v1/crm/imports":                       {"users": 1, "companies": 1, "emails": 1}, // a contact of a new account, invited as by POST /v1/users
	"POST /v1/exports":                           {"exports": 1},
	"POST /v1/imports":                           {"users": 1, "companies": 1}, // an import invites nobody
	"POST /v1/invitation-templates":              {"templates": 1},
	"POST /v1/profiles":                          {"profiles": 1},
	"POST /v1/projects":                          {"projects": 1},
	"POST /v1/roles":                             {"roles": 1},
	"POST /v1/users":                             {"users": 1, "emails": 1},
	"POST /v1/users/reinvite":                    {"emails": 1},
	"POST /v1/users/{userId}/reinvite":           {"emails": 1},
}

// TestSameKeyOnEveryPost: for every staff POST of template.yaml (those
// the router gives Idempotency-Key semantics: not public), 20 concurrent
// identical requests with one key. No answer is a 5xx; exactly one request
// does the work and answers unmarked; every other answer is that answer
// replayed (same status, body and Location, Idempotent-Replayed: true) or
// 409 in-progress with Retry-After; the key replays it afterwards; and the
// work was done once: the burst changed the portal's lists, the mailbox and
// each named entity's version and history exactly as one request without a
// key did (measured on a twin of the request prepared the same way).
func TestSameKeyOnEveryPost(t *testing.T) {
	t.Parallel() // the longest tests overlap: each alone waits on DynamoDB Local more than it computes
	e, tap := newTappedUsersEnv(t)
	cases := faultCases(e)
	routes := 0
	for _, r := range e.st.Routes {
		if r.Method != "POST" || r.Public {
			continue
		}
		prepare, ok := cases[r.Key()]
		if !ok {
			t.Errorf("staff POST %s has no prepared request in faultCases", r.Key())
			continue
		}
		routes++
		t.Run(r.Key(), func(t *testing.T) {
			start := time.Now()
			// One request alone, without a key: what doing the work once changes.
			twin := prepare()
			before := e.observe(refsOf(r, twin, nil))
			res := e.call(twin.method, twin.path, twin.token, twin.body)
			if res.Status != twin.ok {
				t.Fatalf("alone: %d %s", res.Status, res.Body)
			}
			once := e.observe(refsOf(r, twin, &res)).minus(before)
			for _, k := range listNames {
				if once[k] != sameKeyCreates[r.Key()][k] {
					t.Fatalf("one request changed %s by %d, want %d (effect %v)", k, once[k], sameKeyCreates[r.Key()][k], once)
				}
			}

			req := prepare()
			key := "same-key " + r.Key()
			before = e.observe(refsOf(r, req, nil))
			type answer struct {
				resp
				err error
			}
			out := parallel(20, func(int) answer {
				res, err := e.try(req.method, req.path, req.token, req.body, "Idempotency-Key", key)
				return answer{res, err}
			})
			// Unexpected answers, counted by kind so that 19 alike say so once.
			odd := map[string]int{}
			var unmarked []resp // answers that say they did the work
			replayed, inProgress := 0, 0
			for _, a := range out {
				switch res := a.resp; {
				case a.err != nil:
					odd[a.err.Error()]++
				case res.Status >= 500:
					odd[serverError(tap, req.method, req.path, res)]++
				case res.Status == req.ok && res.Header.Get("Idempotent-Replayed") == "":
					unmarked = append(unmarked, res)
				case res.Status == req.ok && res.Header.Get("Idempotent-Replayed") == "true":
					replayed++
				case res.Status == 409 && problemType(res) == "/problems/in-progress" && res.Header.Get("Retry-After") != "":
					inProgress++
				default:
					odd[fmt.Sprintf("%d %s (Idempotent-Replayed %q, Retry-After %q), want %d or 409 in-progress with Retry-After",
						res.Status, res.Body, res.Header.Get("Idempotent-Replayed"), res.Header.Get("Retry-After"), req.ok)]++
				}
			}
			for _, msg := range slices.Sorted(maps.Keys(odd)) {
				t.Errorf("%d of 20 answers: %s", odd[msg], msg)
			}
			if len(unmarked) == 0 {
				t.Fatalf("no answer (but replays) says it did the work (%d replayed, %d in progress)", replayed, inProgress)
			}
			again := e.call(req.method, req.path, req.token, req.body, "Idempotency-Key", key)
			original := unmarked[0]
			if len(unmarked) > 1 {
				var bodies []string
				for _, res := range unmarked {
					bodies = append(bodies, string(res.Body))
					if string(res.Body) == string(again.Body) {
						original = res
					}
				}
				t.Errorf("%d answers (not replays) say they did the work, want 1 (%d replayed, %d in progress):\n%s\nthe key now answers %d (Idempotent-Replayed %q) %s",
					len(unmarked), replayed, inProgress, strings.Join(bodies, "\n"), again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
			}
			for _, a := range out {
				if res := a.resp; res.Status == req.ok && res.Header.Get("Idempotent-Replayed") == "true" &&
					(string(res.Body) != string(original.Body) || res.Header.Get("Location") != original.Header.Get("Location")) {
					t.Errorf("a replay differs from the answer:\n%s (Location %q)\n%s (Location %q)",
						res.Body, res.Header.Get("Location"), original.Body, original.Header.Get("Location"))
					break
				}
			}
			if again.Status != req.ok || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(original.Body) {
				t.Errorf("after the burst the key answered %d (Idempotent-Replayed %q) %s; want the replay of %s",
					again.Status, again.Header.Get("Idempotent-Replayed"), again.Body, original.Body)
			}
			burst := e.observe(refsOf(r, req, &original)).minus(before)
			if burst.String() != once.String() {
				t.Errorf("20 requests with one key changed %v; one request changes %v", burst, once)
			}
			t.Logf("1 did the work, %d replayed, %d in progress; effect %v (%v)", replayed, inProgress, burst, time.Since(start).Round(time.Millisecond))
		})
	}
	if routes == 0 {
		t.Fatal("template.yaml has no staff POST route")
	}
	e.waitExports()
	e.consistent()
}

// counted is how many users a limit counts, by listing them: those with
// portal access (seats) or without (no-access slots), deactivated ones not.
func (e usersEnv) counted(token string, access bool) int {
	n := 0
	for _, it := range e.call("GET", "/v1/users?limit=200", token, nil).JSON()["items"].([]any) {
		if u := it.(map[string]any); u["portalAccess"] == access && u["status"] != "deactivated" {
			n++
		}
	}
	return n
}

// TestSeatLimitUnderConflicts: with exactly 5 seats free (2 held, a user
// without portal access and a deactivated one holding none), 20 parallel
// single-address POST /v1/users add exactly 5 users (201) and refuse 15
// with 409 seat-limit, none 5xx; GET /v1/portal counts the seats held; one
// invitation per new user; the table holds. With and without every other
// transaction cancelled by a conflict.
func TestSeatLimitUnderConflicts(t *testing.T) {
	tests := []struct {
		name   string
		maxPer int // conflicts per transaction; 0: none injected
	}{
		{"no faults", 0},
		{"TransactionConflict on odd transactions", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			e, tap := newTappedUsersEnv(t)
			e.addUser("held1@example.com")
			e.addUser("held2@example.com")
			e.addUser("no.access@example.com", map[string]any{"portalAccess": false})
			off := e.addUser("off@example.com")
			want(t, e.call("POST", "/v1/users/"+off+"/deactivate", e.owner, nil), 200)
			if s := e.seats(); s != 2 {
				t.Fatalf("seatsUsed %v before the burst, want 2", s)
			}
			want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 7}), 200)
			mails := len(e.st.Mail.Messages())

			c := newConflicts(tt.maxPer)
			e.st.Dynamo.Inject(c.inject)
			out := parallel(20, func(i int) resp {
				r, err := e.try("POST", "/v1/users", e.owner, map[string]any{"emails": fmt.Sprintf("seat%02d@example.com", i), "companyId": e.company})
				if err != nil {
					t.Error(err)
				}
				return r
			})
			e.st.Dynamo.Inject(nil)

			created, refused := 0, 0
			for _, r := range out {
				switch {
				case r.Status >= 500:
					t.Errorf("%s", serverError(tap, "POST", "/v1/users", r))
				case r.Status == 201:
					created++
				case r.Status == 409 && problemType(r) == "/problems/seat-limit":
					refused++
				default:
					t.Errorf("answer %d %s, want 201 or 409 seat-limit", r.Status, r.Body)
				}
			}
			if created != 5 || refused != 15 {
				t.Fatalf("%d created and %d refused, want 5 and 15", created, refused)
			}
			if tt.maxPer > 0 && c.injected.Load() == 0 {
				t.Fatal("no transaction was cancelled: the burst tested nothing")
			}
			staff := e.st.Token("demo", "owner", "owner-1")
			held := e.counted(staff, true)
			if s := e.seats(); s != 7 || held != 7 {
				t.Fatalf("seatsUsed %v and %d users holding seats, want 7", s, held)
			}
			if n := len(e.st.Mail.Messages()) - mails; n != 5 {
				t.Fatalf("%d invitations sent, want 5", n)
			}
			// Full: one more is refused, and the limit cannot go below the seats held.
			if r := e.call("POST", "/v1/users", staff, map[string]any{"emails": "late@example.com", "companyId": e.company}); r.Status != 409 || problemType(r) != "/problems/seat-limit" {
				t.Fatalf("past the limit: %d %s", r.Status, r.Body)
			}
			want(t, e.call("PATCH", "/v1/portal", staff, map[string]any{"clientSeatLimit": 6}), 409)
			e.consistent()
			t.Logf("%d transactions sent, %d cancelled by injected conflicts (%v)", c.sent.Load(), c.injected.Load(), time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestNoAccessLimitUnderConflicts: the cap on users without portal access
// holds as seats do. With 5 slots free (2 held, 4 deactivated users without
// access holding none, a user with access holding a seat, not a slot), 16
// parallel adds without access and the 4 activations admit exactly 5 (201
// or 200) and refuse 15 with 409 no-access-limit, none 5xx; an add with
// access in the same burst is not refused; no invitation is sent to the
// users without access; noAccessUsed counts them; the limit cannot go below
// it, and a deactivation frees a slot. With and without conflicts.
func TestNoAccessLimitUnderConflicts(t *testing.T) {
	for _, tt := range []struct {
		name   string
		maxPer int
	}{
		{"no faults", 0},
		{"TransactionConflict on odd transactions", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, tap := newTappedUsersEnv(t)
			noAccess := map[string]any{"portalAccess": false}
			e.addUser("quiet1@example.com", noAccess)
			e.addUser("quiet2@example.com", noAccess)
			e.addUser("seated@example.com")
			var off []string
			for i := range 4 {
				id := e.addUser(fmt.Sprintf("off%d@example.com", i), noAccess)
				want(t, e.call("POST", "/v1/users/"+id+"/deactivate", e.owner, nil), 200)
				off = append(off, id)
			}
			portal := e.call("PATCH", "/v1/portal", e.owner, map[string]any{"noAccessUserLimit": 7})
			want(t, portal, 200)
			if p := portal.JSON(); p["noAccessUsed"].(float64) != 2 || p["seatsUsed"].(float64) != 1 || p["noAccessUserLimit"].(float64) != 7 {
				t.Fatalf("portal before the burst %s", portal.Body)
			}
			mails := len(e.st.Mail.Messages())

			c := newConflicts(tt.maxPer)
			e.st.Dynamo.Inject(c.inject)
			out := parallel(21, func(i int) resp {
				var r resp
				var err error
				switch {
				case i < 4:
					r, err = e.try("POST", "/v1/users/"+off[i]+"/activate", e.owner, nil)
				case i == 20:
					r, err = e.try("POST", "/v1/users", e.owner, map[string]any{"emails": "with.access@example.com", "companyId": e.company})
				default:
					r, err = e.try("POST", "/v1/users", e.owner, map[string]any{"emails": fmt.Sprintf("quiet%02d@example.com", i+10), "companyId": e.company, "portalAccess": false})
				}
				if err != nil {
					t.Error(err)
				}
				return r
			})
			e.st.Dynamo.Inject(nil)

			admitted, refused := 0, 0
			for i, r := range out {
				switch {
				case r.Status >= 500:
					t.Errorf("%s", serverError(tap, "POST", "/v1/users", r))
				case i == 20:
					if r.Status != 201 {
						t.Errorf("the add with portal access: %d %s", r.Status, r.Body)
					}
				case r.Status == 201 || (i < 4 && r.Status == 200):
					admitted++
				case r.Status == 409 && problemType(r) == "/problems/no-access-limit":
					refused++
				default:
					t.Errorf("answer %d %s, want 201/200 or 409 no-access-limit", r.Status, r.Body)
				}
			}
			if admitted != 5 || refused != 15 {
				t.Fatalf("%d admitted and %d refused, want 5 and 15", admitted, refused)
			}
			if tt.maxPer > 0 && c.injected.Load() == 0 {
				t.Fatal("no transaction was cancelled: the burst tested nothing")
			}
			counted := e.counted(e.owner, false)
			p := e.call("GET", "/v1/portal", e.owner, nil).JSON()
			if p["noAccessUsed"].(float64) != 7 || counted != 7 || p["seatsUsed"].(float64) != 2 {
				t.Fatalf("noAccessUsed %v, %d users without access, seatsUsed %v; want 7, 7, 2", p["noAccessUsed"], counted, p["seatsUsed"])
			}
			if n := len(e.st.Mail.Messages()) - mails; n != 1 {
				t.Fatalf("%d invitations sent, want 1 (the user with access)", n)
			}
			// Full: the limit cannot go below the count, and the problem says why.
			r := e.call("PATCH", "/v1/portal", e.owner, map[string]any{"noAccessUserLimit": 6})
			if r.Status != 409 || r.JSON()["noAccessUsed"].(float64) != 7 {
				t.Fatalf("lowering below the count: %d %s", r.Status, r.Body)
			}
			if r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "late@example.com", "companyId": e.company, "portalAccess": false}); r.Status != 409 || problemType(r) != "/problems/no-access-limit" {
				t.Fatalf("past the limit: %d %s", r.Status, r.Body)
			}
			// A deactivation frees a slot for the next one.
			quiet := e.call("GET", "/v1/users?q=quiet1", e.owner, nil).JSON()["items"].([]any)[0].(map[string]any)["id"].(string)
			want(t, e.call("POST", "/v1/users/"+quiet+"/deactivate", e.owner, nil), 200)
			want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "late@example.com", "companyId": e.company, "portalAccess": false}), 201)
			e.consistent()
			t.Logf("%d transactions sent, %d cancelled by injected conflicts", c.sent.Load(), c.injected.Load())
		})
	}
}

// TestConflictsExhausted: when every transaction is cancelled by a
// conflict, a create re-sends it a bounded number of times, then answers
// 503 with Retry-After and writes nothing; an Idempotency-Key of the failed
// request is not used up (a locked route's lock is released), so the same
// request with the same key succeeds once the conflicts end, and exactly
// once.
func TestConflictsExhausted(t *testing.T) {
	e, tap := newTappedUsersEnv(t)
	tests := []struct {
		name, path, key string
		body            map[string]any
		list            string // the list the create would add to
	}{
		{"POST /v1/companies", "/v1/companies", "", map[string]any{"name": "Exhausted"}, "/v1/companies"},
		{"POST /v1/companies with a key", "/v1/companies", "exhausted-company", map[string]any{"name": "Exhausted with key"}, "/v1/companies"},
		{"POST /v1/projects with a key", "/v1/projects", "exhausted-project", map[string]any{"name": "Exhausted project", "companyIds": []string{e.company}}, "/v1/projects"},
		{"POST /v1/users with a key (locked)", "/v1/users", "exhausted-user", map[string]any{"emails": "exhausted@example.com", "companyId": e.company}, "/v1/users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			staff := e.st.Token("demo", "owner", "owner-1")
			var headers []string
			if tt.key != "" {
				headers = []string{"Idempotency-Key", tt.key}
			}
			before := e.countAll(tt.list, staff)
			mails := len(e.st.Mail.Messages())
			c := newConflicts(-1)
			e.st.Dynamo.Inject(c.inject)
			r, err := e.try("POST", tt.path, staff, tt.body, headers...)
			e.st.Dynamo.Inject(nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 503 || r.Header.Get("Retry-After") == "" || problemType(r) != "/problems/unavailable" {
				t.Fatalf("with every transaction cancelled: %d (Retry-After %q) %s, want 503 unavailable with Retry-After\nlog: %s",
					r.Status, r.Header.Get("Retry-After"), r.Body, tap.of(r.Header.Get("X-Request-Id")))
			}
			if n := c.sent.Load(); n < 2 || n > 20 {
				t.Fatalf("the transaction was sent %d times; want it re-sent, a bounded number of times", n)
			}
			if n := e.countAll(tt.list, staff); n != before {
				t.Fatalf("%s has %d items after the 503, had %d", tt.list, n, before)
			}
			if n := len(e.st.Mail.Messages()); n != mails {
				t.Fatalf("%d emails sent by a request that failed", n-mails)
			}
			e.consistent()

			// The conflicts are over: the same request (and key) goes through, once.
			ok := e.call("POST", tt.path, staff, tt.body, headers...)
			if ok.Status != 201 || ok.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("after the conflicts: %d (Idempotent-Replayed %q) %s, want 201", ok.Status, ok.Header.Get("Idempotent-Replayed"), ok.Body)
			}
			if tt.key != "" {
				again := e.call("POST", tt.path, staff, tt.body, headers...)
				if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(ok.Body) {
					t.Fatalf("the key after success: %d %s", again.Status, again.Body)
				}
			}
			if n := e.countAll(tt.list, staff); n != before+1 {
				t.Fatalf("%s has %d items, want %d", tt.list, n, before+1)
			}
			t.Logf("the cancelled transaction was sent %d times before the 503", c.sent.Load())
		})
	}
	e.consistent()
}

// TestReinviteGateUnderConflicts: 20 parallel re-invites of one user, the
// 24 h window open, some transactions cancelled by conflicts: exactly one
// invitation goes out (one 202, or one "sent" outcome for the bulk route)
// and every other request is refused by the gate (429 with Retry-After,
// or "gated"); none is a 5xx; the user's history records one invitation.
func TestReinviteGateUnderConflicts(t *testing.T) {
	tests := []struct {
		name   string
		bulk   bool
		maxPer int
	}{
		{"POST /v1/users/{userId}/reinvite", false, 0},
		{"POST /v1/users/{userId}/reinvite with conflicts", false, 2},
		{"POST /v1/users/reinvite with conflicts", true, 2},
	}
	e, tap := newTappedUsersEnv(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid := e.addUser(fmt.Sprintf("gated%d@example.com", i))
			e.clock.Advance(25 * time.Hour)
			staff := e.st.Token("demo", "owner", "owner-1")
			e.owner = staff
			mails := len(e.st.Mail.Messages())
			invitedBefore := e.historyActions(uid, staff)["user.invited"]

			c := newConflicts(tt.maxPer)
			e.st.Dynamo.Inject(c.inject)
			path, body := "/v1/users/"+uid+"/reinvite", any(nil)
			if tt.bulk {
				path, body = "/v1/users/reinvite", map[string]any{"userIds": []string{uid}}
			}
			out := parallel(20, func(int) resp {
				r, err := e.try("POST", path, staff, body)
				if err != nil {
					t.Error(err)
				}
				return r
			})
			e.st.Dynamo.Inject(nil)

			sent, gated := 0, 0
			for _, r := range out {
				switch {
				case r.Status >= 500:
					t.Errorf("%s", serverError(tap, "POST", path, r))
				case !tt.bulk && r.Status == 202:
					sent++
				case !tt.bulk && r.Status == 429:
					if secs, _ := strconv.Atoi(r.Header.Get("Retry-After")); secs < 1 {
						t.Errorf("429 with Retry-After %q", r.Header.Get("Retry-After"))
					}
					gated++
				case tt.bulk && r.Status == 200:
					res := r.JSON()["results"].([]any)
					if len(res) != 1 {
						t.Fatalf("results %s", r.Body)
					}
					switch o := res[0].(map[string]any)["outcome"]; o {
					case "sent":
						sent++
					case "gated":
						gated++
					default:
						t.Errorf("outcome %v: %s", o, r.Body)
					}
				default:
					t.Errorf("answer %d %s", r.Status, r.Body)
				}
			}
			if sent != 1 || gated != 19 {
				t.Fatalf("%d sent and %d gated, want 1 and 19", sent, gated)
			}
			if tt.maxPer > 0 && c.injected.Load() == 0 {
				t.Fatal("no transaction was cancelled: the burst tested nothing")
			}
			if n := len(e.st.Mail.Messages()) - mails; n != 1 {
				t.Fatalf("%d invitations sent, want 1", n)
			}
			if n := e.historyActions(uid, staff)["user.invited"] - invitedBefore; n != 1 {
				t.Fatalf("history records %d invitations, want 1", n)
			}
			// The window is closed again.
			want(t, e.call("POST", "/v1/users/"+uid+"/reinvite", staff, nil), 429)
			t.Logf("%d transactions sent, %d cancelled by injected conflicts", c.sent.Load(), c.injected.Load())
		})
	}
	e.consistent()
}

// historyActions counts a user's history entries by action.
func (e *env) historyActions(uid, token string) map[string]int {
	e.t.Helper()
	out := map[string]int{}
	r := e.call("GET", "/v1/users/"+uid+"/history?limit=200", token, nil)
	want(e.t, r, 200)
	for _, it := range r.JSON()["items"].([]any) {
		out[it.(map[string]any)["action"].(string)]++
	}
	return out
}
