package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// usersEnv has a company on a staff-hours project and a fixed project.
type usersEnv struct {
	*env
	company, hourly, fixed string
}

func newUsersEnv(t *testing.T) usersEnv {
	e := newEnv(t)
	c := e.createCompany("Client Co")
	return usersEnv{env: e, company: c,
		hourly: e.createProject("Hourly", map[string]any{"billing": "staff_hours", "companyIds": []string{c}}),
		fixed:  e.createProject("Fixed", map[string]any{"billing": "fixed", "companyIds": []string{c}})}
}

func TestAddOneUser(t *testing.T) {
	e := newUsersEnv(t)
	r := e.call("POST", "/v1/users", e.owner, map[string]any{
		"emails": "  Ann.Lee@Example.COM ", "companyId": e.company, "name": "Ann Lee", "title": "CTO",
		"projectIds": []string{e.hourly}, "ratePerHour": 120.5, "portalRate": 99,
	})
	want(t, r, 201)
	created := r.JSON()["created"].([]any)
	if len(created) != 1 || len(r.JSON()["failed"].([]any)) != 0 {
		t.Fatalf("body %s", r.Body)
	}
	u := created[0].(map[string]any)
	inv, _ := u["invite"].(map[string]any)
	projects := u["projects"].([]any)
	if u["email"] != "Ann.Lee@example.com" || u["status"] != "invited" || u["profileId"] != "client" || u["portalAccess"] != true ||
		u["name"] != "Ann Lee" || u["portalRate"].(float64) != 99 || inv["state"] != "pending" || inv["remindersSent"].(float64) != 0 ||
		len(projects) != 1 || projects[0].(map[string]any)["ratePerHour"].(float64) != 120.5 {
		t.Fatalf("user %v", u)
	}
	id := u["id"].(string)
	got := e.call("GET", "/v1/users/"+id, e.owner, nil)
	want(t, got, 200)
	if got.Header.Get("ETag") != `"1"` || got.JSON()["email"] != "Ann.Lee@example.com" {
		t.Fatalf("GET %s", got.Body)
	}

	// The invitation went out through SES, with a link to the portal page.
	msgs := e.st.Mail.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "Ann.Lee@example.com" || !strings.Contains(msgs[0].Subject, "Demo Portal") {
		t.Fatalf("mail %+v", msgs)
	}
	link := ""
	for _, l := range msgs[0].Links {
		if strings.HasPrefix(l, e.srv.URL+"/portal/invite/") {
			link = l
		}
	}
	if token := strings.TrimPrefix(link, e.srv.URL+"/portal/invite/"); len(token) < 43 || strings.Contains(string(got.Body), token) {
		t.Fatalf("invitation link %q (links %v)", link, msgs[0].Links)
	}

	// The company counts it; the portal counts its seat; history has it.
	if n := e.call("GET", "/v1/companies/"+e.company, e.owner, nil).JSON()["userCount"].(float64); n != 1 {
		t.Fatalf("userCount %v", n)
	}
	if n := e.call("GET", "/v1/portal", e.owner, nil).JSON()["seatsUsed"].(float64); n != 1 {
		t.Fatalf("seatsUsed %v", n)
	}
	h := e.call("GET", "/v1/users/"+id+"/history", e.owner, nil).JSON()["items"].([]any)
	if len(h) != 1 || h[0].(map[string]any)["action"] != "user.created" || h[0].(map[string]any)["changes"].(map[string]any)["email"] == nil {
		t.Fatalf("history %v", h)
	}
	e.consistent()
}

func TestAddUsersOutcomes(t *testing.T) {
	e := newUsersEnv(t)
	e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "taken@example.com", "companyId": e.company})
	r := e.call("POST", "/v1/users", e.owner, map[string]any{
		"emails":    "a@example.com, not-an-address, TAKEN@example.com, b@example.com, A@example.com",
		"companyId": e.company,
	})
	want(t, r, 207)
	var created []string
	for _, u := range r.JSON()["created"].([]any) {
		created = append(created, u.(map[string]any)["email"].(string))
	}
	failed := map[string]float64{}
	for _, f := range r.JSON()["failed"].([]any) {
		m := f.(map[string]any)
		failed[m["email"].(string)] = m["status"].(float64)
		if m["email"] == "TAKEN@example.com" && m["existingUserId"] == nil {
			t.Fatalf("conflict without existingUserId: %v", m)
		}
	}
	if fmt.Sprint(created) != "[a@example.com b@example.com]" ||
		fmt.Sprint(failed) != "map[A@example.com:400 TAKEN@example.com:409 not-an-address:400]" {
		t.Fatalf("created %v failed %v", created, failed)
	}

	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"every address taken", map[string]any{"emails": []string{"a@example.com"}, "companyId": e.company}, 409, ""},
		{"every address invalid", map[string]any{"emails": []string{"x", "y"}, "companyId": e.company}, 400, ""},
		{"no addresses", map[string]any{"emails": "", "companyId": e.company}, 400, "emails"},
		{"unknown company", map[string]any{"emails": "c@example.com", "companyId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"}, 400, "companyId"},
		{"rate on a fixed project", map[string]any{"emails": "c@example.com", "companyId": e.company, "projectIds": []string{e.fixed}, "ratePerHour": 10}, 400, "projectIds[0]"},
		{"rate without projects", map[string]any{"emails": "c@example.com", "companyId": e.company, "ratePerHour": 10}, 400, "ratePerHour"},
		{"project the company is not on", map[string]any{"emails": "c@example.com", "companyId": e.company, "projectIds": []string{e.createProject("Elsewhere")}}, 400, "projectIds[0]"},
		{"name with two addresses", map[string]any{"emails": "c@example.com, d@example.com", "companyId": e.company, "name": "X"}, 400, "name"},
		{"too many addresses", map[string]any{"emails": manyAddresses(101), "companyId": e.company}, 400, "emails"},
		{"emails of the wrong type", map[string]any{"emails": 7, "companyId": e.company}, 400, "emails"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("POST", "/v1/users", e.owner, tt.body)
			want(t, r, tt.status)
			if tt.field != "" && !strings.Contains(string(r.Body), `"field":"`+tt.field+`"`) {
				t.Fatalf("no error on %s: %s", tt.field, r.Body)
			}
		})
	}
	e.consistent()
}

func manyAddresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%03d@example.com", i)
	}
	return out
}

func TestAddUsersWithoutPortalAccess(t *testing.T) {
	e := newUsersEnv(t)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 0}), 200)
	r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": []string{"quiet@example.com"}, "companyId": e.company, "portalAccess": false})
	want(t, r, 201)
	u := r.JSON()["created"].([]any)[0].(map[string]any)
	if u["invite"] != nil || u["invitedAt"] != nil || u["portalAccess"] != false {
		t.Fatalf("user %v", u)
	}
	if len(e.st.Mail.Messages()) != 0 {
		t.Fatal("a user without portal access got mail")
	}
	// With portal access the zero limit refuses the seat.
	r = e.call("POST", "/v1/users", e.owner, map[string]any{"emails": []string{"loud@example.com"}, "companyId": e.company})
	want(t, r, 409)
	if r.String("type") != "/problems/seat-limit" {
		t.Fatalf("problem %s", r.Body)
	}
	e.consistent()
}

func TestEmailUniqueUnderConcurrency(t *testing.T) {
	e := newUsersEnv(t)
	results := parallel(20, func(i int) resp {
		email := "same@example.com"
		if i%2 == 1 {
			email = "SAME@Example.com"
		}
		r, err := e.try("POST", "/v1/users", e.owner, map[string]any{"emails": email, "companyId": e.company})
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
		t.Fatalf("statuses %v, want one 201", statuses)
	}
	if items := e.call("GET", "/v1/users?q=same", e.owner, nil).JSON()["items"].([]any); len(items) != 1 {
		t.Fatalf("%d users", len(items))
	}
	if n := len(e.st.Mail.Messages()); n != 1 {
		t.Fatalf("%d invitations sent", n)
	}
	e.consistent()
}

func TestSeatLimitUnderConcurrency(t *testing.T) {
	e := newUsersEnv(t)
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 5}), 200)
	results := parallel(50, func(i int) resp {
		r, err := e.try("POST", "/v1/users", e.owner, map[string]any{"emails": fmt.Sprintf("seat%02d@example.com", i), "companyId": e.company})
		if err != nil {
			t.Error(err)
		}
		return r
	})
	ok := 0
	for _, r := range results {
		switch r.Status {
		case 201:
			ok++
		case 409:
			if r.String("type") != "/problems/seat-limit" {
				t.Fatalf("409 %s", r.Body)
			}
		default:
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	}
	p := e.call("GET", "/v1/portal", e.owner, nil).JSON()
	listed := len(e.call("GET", "/v1/users?status=invited&limit=200", e.owner, nil).JSON()["items"].([]any))
	if ok != 5 || p["seatsUsed"].(float64) != 5 || listed != 5 {
		t.Fatalf("%d added, seatsUsed %v, %d listed; want 5", ok, p["seatsUsed"], listed)
	}
	// Lowering the limit below the seats in use is refused.
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 4}), 409)
	e.consistent()
}

func TestInvitationMailFailure(t *testing.T) {
	e := newUsersEnv(t)
	e.st.Mail.FailWith(http.StatusServiceUnavailable, "ServiceUnavailable")
	r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "unlucky@example.com", "companyId": e.company})
	e.st.Mail.FailWith(0, "")
	want(t, r, 201)
	u := r.JSON()["created"].([]any)[0].(map[string]any)
	inv := u["invite"].(map[string]any)
	if u["status"] != "invited" || inv["lastError"] == nil || strings.Contains(inv["lastError"].(string), "ServiceUnavailable") {
		t.Fatalf("user %v", u)
	}
	if got := e.call("GET", "/v1/users/"+u["id"].(string), e.owner, nil).JSON()["invite"].(map[string]any)["lastError"]; got != inv["lastError"] {
		t.Fatalf("stored lastError %v", got)
	}
	e.consistent()
}

func TestListUsers(t *testing.T) {
	e := newUsersEnv(t)
	for _, a := range []string{"carol@example.com", "alice@example.com", "bob@example.com", "alex@other.example"} {
		want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": a, "companyId": e.company}), 201)
	}
	// Named users: found by name or address, each once.
	for a, n := range map[string]string{"zed@example.com": "Alan Turing", "alfred@example.com": "Alfred  Nobel", "x9@example.com": "Bo"} {
		want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": a, "companyId": e.company, "name": n}), 201)
	}
	emails := func(path string) string {
		var out []string
		for _, it := range e.call("GET", path, e.owner, nil).JSON()["items"].([]any) {
			out = append(out, it.(map[string]any)["email"].(string))
		}
		return strings.Join(out, " ")
	}
	tests := []struct{ path, want string }{
		{"/v1/users", "alex@other.example alfred@example.com alice@example.com bob@example.com carol@example.com x9@example.com zed@example.com"},
		{"/v1/users?q=ALE", "alex@other.example"},
		{"/v1/users?q=al", "zed@example.com alex@other.example alfred@example.com alice@example.com"},
		{"/v1/users?q=alfred%20%20nob", "alfred@example.com"},
		{"/v1/users?q=turing", ""},
		{"/v1/users?status=invited&q=b", "x9@example.com bob@example.com"},
		{"/v1/users?companyId=" + e.company + "&q=alan", "zed@example.com"},
		{"/v1/users?status=active", ""},
		{"/v1/users?status=deactivated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := emails(tt.path); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	// Searching page by page returns every match exactly once.
	var paged []string
	cursor := ""
	for {
		path := "/v1/users?q=a&limit=1"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.call("GET", path, e.owner, nil)
		items := r.JSON()["items"].([]any)
		cursor = r.String("nextCursor")
		if len(items) == 0 {
			// Like any DynamoDB listing, the page after a full one may be the
			// empty end; never empty with more to come.
			if cursor != "" {
				t.Fatalf("empty page before the end: %s", r.Body)
			}
			break
		}
		paged = append(paged, items[0].(map[string]any)["email"].(string))
		if cursor == "" {
			break
		}
	}
	if got := strings.Join(paged, " "); got != "zed@example.com alex@other.example alfred@example.com alice@example.com" {
		t.Fatalf("paged search %q", got)
	}
	want(t, e.call("GET", "/v1/users?status=gone", e.owner, nil), 400)
	want(t, e.call("GET", "/v1/users/01JBZZZZZZZZZZZZZZZZZZZZZZ", e.owner, nil), 404)
	want(t, e.call("GET", "/v1/users", e.st.Token("other", "owner", "x"), nil), 200)
	if items := e.call("GET", "/v1/users", e.st.Token("other", "owner", "x"), nil).JSON()["items"].([]any); len(items) != 0 {
		t.Fatal("another portal sees users")
	}
}

// TestIdempotentBulkAdd: POST /v1/users does its work in one transaction
// per address, so its key is locked while it runs. The same key and body
// from 20 goroutines add each user once and send each email once; every
// answer is the first one replayed, or 409 "in progress" with Retry-After.
// A failed request releases its key.
func TestIdempotentBulkAdd(t *testing.T) {
	e := newUsersEnv(t)
	body := map[string]any{"emails": []string{"k1@example.com", "k2@example.com", "k3@example.com"}, "companyId": e.company}
	out := parallel(20, func(int) resp {
		r, err := e.try("POST", "/v1/users", e.owner, body, "Idempotency-Key", "bulk-1")
		if err != nil {
			t.Error(err)
		}
		return r
	})
	var first *resp
	for i, r := range out {
		switch r.Status {
		case 201:
			if first == nil {
				first = &out[i]
			} else if string(r.Body) != string(first.Body) {
				t.Fatalf("two different 201 answers:\n%s\n%s", r.Body, first.Body)
			}
		case 409:
			if r.Header.Get("Retry-After") == "" || r.String("type") != "/problems/in-progress" {
				t.Fatalf("409 %s, Retry-After %q", r.Body, r.Header.Get("Retry-After"))
			}
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
	if first == nil {
		t.Fatal("no request did the work")
	}
	if n := len(e.st.Mail.Messages()); n != 3 {
		t.Fatalf("%d emails, want 3", n)
	}
	again := e.call("POST", "/v1/users", e.owner, body, "Idempotency-Key", "bulk-1")
	if again.Status != 201 || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("after the run: %d %s", again.Status, again.Body)
	}
	// A request that fails records nothing: the same key works once fixed.
	bad := map[string]any{"emails": "k4@example.com", "companyId": "01JBZZZZZZZZZZZZZZZZZZZZZZ"}
	want(t, e.call("POST", "/v1/users", e.owner, bad, "Idempotency-Key", "bulk-2"), 400)
	want(t, e.call("POST", "/v1/users", e.owner, bad, "Idempotency-Key", "bulk-2"), 400)
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "k4@example.com", "companyId": "01JBZZZZZZZZZZZZZZZZZZZZZZ", "name": "x"}, "Idempotency-Key", "bulk-2"), 400)
	e.consistent()
}
