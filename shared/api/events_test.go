package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientele/clientele/infra/local/eventbus"
	"github.com/clientele/clientele/shared/openapi"
	"github.com/clientele/clientele/shared/publish"
)

// historyIDs reads every history entry of every company and user of the
// portal: id -> "resourceId action".
func (e usersEnv) historyIDs() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	read := func(list, history string) {
		for _, it := range e.call("GET", list+"?limit=200", e.owner, nil).JSON()["items"].([]any) {
			id := it.(map[string]any)["id"].(string)
			for _, h := range e.call("GET", strings.ReplaceAll(history, "{id}", id)+"?limit=200", e.owner, nil).JSON()["items"].([]any) {
				m := h.(map[string]any)
				out[m["id"].(string)] = id + " " + m["action"].(string)
			}
		}
	}
	read("/v1/companies", "/v1/companies/{id}/history")
	read("/v1/users", "/v1/users/{id}/history")
	return out
}

// published reads the local bus: detail id -> how many times, and
// "resourceId action" of each.
func (e usersEnv) published() (count map[string]int, what map[string]string) {
	e.t.Helper()
	e.waitExports() // every trigger, the events function's included
	count, what = map[string]int{}, map[string]string{}
	doc, err := openapi.Load()
	if err != nil {
		e.t.Fatal(err)
	}
	schema := doc.Components.Schemas["Event"].Value
	for _, ev := range e.st.Events.Events() {
		// As a rule's target receives it, it matches the document's Event.
		b, _ := json.Marshal(ev)
		var v any
		_ = json.Unmarshal(b, &v)
		if err := schema.VisitJSON(v); err != nil {
			e.t.Fatalf("event %s does not match the OpenAPI document's Event: %v", b, err)
		}
		var d publish.Detail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			e.t.Fatal(err)
		}
		if ev.Source != "clientele" || ev.DetailType != d.Action || d.PortalID != "demo" || ev.Bus != "clientele-local" {
			e.t.Fatalf("event %+v", ev)
		}
		count[d.ID]++
		what[d.ID] = d.ResourceID + " " + d.Action
	}
	return count, what
}

// eventsWalk makes history of many kinds: companies created, changed,
// linked and made primary; users created, changed, moved between projects,
// deactivated and activated, re-invited, accepting, customized.
func (e *usersEnv) eventsWalk() {
	e.t.Helper()
	other := e.createCompany("Events Co")
	want(e.t, e.call("PATCH", "/v1/companies/"+other, e.owner, map[string]any{"website": "https://events.example"}), 200)
	want(e.t, e.call("POST", "/v1/projects/"+e.hourly+"/companies", e.owner, map[string]any{"companyId": other}), 201)
	want(e.t, e.call("PUT", "/v1/projects/"+e.hourly+"/primary-company", e.owner, map[string]any{"companyId": other}), 200)
	uid, session := e.session("ev.accepts@example.com", map[string]any{"projectIds": []string{e.hourly}})
	_ = session
	want(e.t, e.call("PUT", "/v1/projects/"+e.hourly+"/users/"+uid+"/permissions", e.owner,
		map[string]any{"permissions": map[string]any{"tasks": []string{"view", "create"}}}), 200)
	quiet := e.addUser("ev.quiet@example.com", map[string]any{"portalAccess": false})
	want(e.t, e.call("PATCH", "/v1/users/"+quiet, e.owner, map[string]any{"name": "Quiet One"}), 200)
	want(e.t, e.call("POST", "/v1/users/"+quiet+"/deactivate", e.owner, nil), 200)
	want(e.t, e.call("POST", "/v1/users/"+quiet+"/activate", e.owner, nil), 200)
	invited := e.addUser("ev.invited@example.com")
	want(e.t, e.call("POST", "/v1/projects/"+e.hourly+"/users", e.owner, map[string]any{"userIds": []string{invited}, "ratePerHour": 90}), 201)
	want(e.t, e.call("PATCH", "/v1/projects/"+e.hourly+"/users/"+invited, e.owner, map[string]any{"ratePerHour": 95}), 200)
	want(e.t, e.call("DELETE", "/v1/projects/"+e.hourly+"/users/"+invited, e.owner, nil), 204)
	e.clock.Advance(25 * time.Hour)
	e.owner = e.st.Token("demo", "owner", "owner-1") // the first one expired meanwhile
	want(e.t, e.call("POST", "/v1/users/"+invited+"/reinvite", e.owner, nil), 202)
}

// TestEvents: every history entry is published exactly once, with its
// action as the detail-type and the entry's id as the detail's; a request
// that changed nothing (a cancelled transaction) publishes nothing.
func TestEvents(t *testing.T) {
	e := newUsersEnv(t)
	e.eventsWalk()
	count, what := e.published()
	history := e.historyIDs()
	if len(history) < 15 {
		t.Fatalf("the walk made %d history entries; it should make more kinds", len(history))
	}
	for id, w := range history {
		if count[id] != 1 || what[id] != w {
			t.Errorf("history %s (%s): published %d times as %q", id, w, count[id], what[id])
		}
	}
	for id := range count {
		if _, ok := history[id]; !ok {
			t.Errorf("event %s (%s) has no history entry", id, what[id])
		}
	}

	// Cancelled transactions: a taken name, a taken address, a full seat
	// limit. Nothing is published for them.
	before := len(e.st.Events.Events())
	want(t, e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "events co"}), 409)
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "ev.quiet@example.com", "companyId": e.company}), 409)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 2}), 200)
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "ev.full@example.com", "companyId": e.company}), 409)
	e.waitExports()
	if n := len(e.st.Events.Events()); n != before {
		t.Fatalf("%d events published for requests that wrote nothing", n-before)
	}
	if f := e.st.EventsFailures(); len(f) != 0 {
		t.Fatalf("failures %+v", f)
	}
}

// TestEventsAfterPutEventsFailures: the bus refuses entries, again and
// again, past the function's own retries: the trigger delivers the batch
// again until it goes through. Every entry is published at least once;
// repeats carry the same detail id, for consumers to drop.
func TestEventsAfterPutEventsFailures(t *testing.T) {
	e := newUsersEnv(t)
	var refused atomic.Int32
	e.st.Events.Fail(func(ev eventbus.Event) bool {
		return ev.DetailType == "user.created" && refused.Add(1) <= 9 // 2 batches' worth of retries
	})
	// Held, the records pile up: batches of 10 that each fail as a whole.
	e.st.HoldStream(true)
	e.eventsWalk()
	e.st.HoldStream(false)
	count, what := e.published()
	e.st.Events.Fail(nil)
	if refused.Load() < 9 {
		t.Fatalf("the bus refused %d entries; the test injected nothing", refused.Load())
	}
	history := e.historyIDs()
	repeats := 0
	for id, w := range history {
		if count[id] < 1 || what[id] != w {
			t.Errorf("history %s (%s): published %d times as %q", id, w, count[id], what[id])
		}
		repeats += count[id] - 1
	}
	if len(count) != len(history) {
		t.Errorf("%d distinct events, %d history entries", len(count), len(history))
	}
	if f := e.st.EventsFailures(); len(f) != 0 {
		t.Fatalf("a batch was given up on: %+v", f)
	}
	if repeats == 0 {
		t.Fatal("no entry was published twice: no batch was delivered again")
	}
	t.Logf("%d history entries, %d entries refused, %d repeats", len(history), refused.Load(), repeats)
}

// TestLocalEvents: GET /_local/events lists what was published, newest
// first, and filters by detail-type.
func TestLocalEvents(t *testing.T) {
	e := newUsersEnv(t)
	e.addUser("ev.one@example.com")
	e.waitExports()
	get := func(query string) []any {
		res, err := http.Get(e.srv.URL + "/_local/events" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct{ Events []any }
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET /_local/events%s: %d %v", query, res.StatusCode, err)
		}
		return body.Events
	}
	list := get("?detail-type=" + url.QueryEscape("user.created"))
	if len(list) != 1 || list[0].(map[string]any)["detail-type"] != "user.created" ||
		list[0].(map[string]any)["detail"].(map[string]any)["changes"].(map[string]any)["email"].(map[string]any)["to"] != "ev.one@example.com" {
		t.Fatalf("events %v", list)
	}
	all := get("")
	if len(all) < 2 || all[0].(map[string]any)["detail-type"] != "user.created" {
		t.Fatalf("newest first: %v", all)
	}
}

// TestDeletionEvents: a deleted user or company takes its history with it,
// but its deletion is published: one user.deleted per user (those a company
// delete takes with it too) and one company.deleted, by whoever deleted
// them, saying what went. Their tombstones leave the table by TTL.
func TestDeletionEvents(t *testing.T) {
	e := newUsersEnv(t)
	doomed := e.createCompany("Doomed Co")
	a := e.addUser("del.a@example.com", map[string]any{"companyId": doomed})
	b := e.addUser("del.b@example.com", map[string]any{"companyId": doomed})
	want(t, e.call("DELETE", "/v1/users/"+a, e.owner, nil), 204)
	want(t, e.call("DELETE", "/v1/companies/"+doomed, e.owner, nil), 204)
	count, what := e.published()
	deleted := map[string]map[string]any{}
	for _, ev := range e.st.Events.Events() {
		var d publish.Detail
		_ = json.Unmarshal(ev.Detail, &d)
		if !strings.HasSuffix(d.Action, ".deleted") {
			continue
		}
		if d.Actor.Type != "staff" || d.Actor.ID != "owner-1" || count[d.ID] != 1 {
			t.Errorf("%s: actor %+v, published %d times", what[d.ID], d.Actor, count[d.ID])
		}
		changes := map[string]any{}
		for k, c := range d.Changes {
			if c.To != nil {
				t.Errorf("%s: %s to %v, want null", what[d.ID], k, c.To)
			}
			changes[k] = c.From
		}
		deleted[d.ResourceID+" "+d.Action] = changes
	}
	wantDeleted := map[string]map[string]any{
		a + " user.deleted":         {"email": "del.a@example.com", "companyId": doomed, "status": "invited"},
		b + " user.deleted":         {"email": "del.b@example.com", "companyId": doomed, "status": "invited"},
		doomed + " company.deleted": {"name": "Doomed Co"},
	}
	if len(deleted) != len(wantDeleted) {
		t.Fatalf("deletion events %v, want %v", deleted, wantDeleted)
	}
	for k, w := range wantDeleted {
		got := deleted[k]
		if len(got) != len(w) {
			t.Errorf("%s: changes %v, want %v", k, got, w)
		}
		for f, v := range w {
			if got[f] != v {
				t.Errorf("%s: %s from %v, want %v", k, f, got[f], v)
			}
		}
	}
	// Gone from the API all the same.
	want(t, e.call("GET", "/v1/users/"+b+"/history", e.owner, nil), 404)
	want(t, e.call("GET", "/v1/companies/"+doomed+"/history", e.owner, nil), 404)
	e.consistent()
}
