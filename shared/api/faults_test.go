package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientele/clientele/infra/dynamodblocal"
	localcrm "github.com/clientele/clientele/infra/local/crm"
	"github.com/clientele/clientele/infra/template"
)

// faultReq is one request of the fault matrix and the status it answers
// when nothing fails.
type faultReq struct {
	method, path, token string
	body                any
	ok                  int
}

// bulkRoutes answer per item: 207 when some items failed.
var bulkRoutes = map[string]bool{"POST /v1/users": true, "POST /v1/projects/{projectId}/users": true}

// allUnavailable reports whether every failed item of a 207 failed with 503.
func allUnavailable(r resp) bool {
	failed, _ := r.JSON()["failed"].([]any)
	for _, f := range failed {
		if f.(map[string]any)["status"] != float64(503) {
			return false
		}
	}
	return len(failed) > 0
}

// allFailed reports whether every result of a bulk re-invite failed.
func allFailed(r resp) bool {
	results, _ := r.JSON()["results"].([]any)
	for _, x := range results {
		if x.(map[string]any)["outcome"] != "failed" {
			return false
		}
	}
	return len(results) > 0
}

// crmImportDone says what is wrong with an answer of POST /v1/crm/imports
// of one contact that should have imported it ("" when it did): a 200
// that lists the contact as failed is the import not done, and DynamoDB
// failing is not a reason to fail one contact (the whole import answers
// 503, to be repeated). Skipped as already imported is the repeat finding
// its work done.
func crmImportDone(r resp) string {
	res := r.JSON()
	created, _ := res["created"].([]any)
	skipped, _ := res["skipped"].([]any)
	failed, _ := res["failed"].([]any)
	switch {
	case r.Status != 200:
		return fmt.Sprintf("answered %d %s", r.Status, r.Body)
	case len(failed) > 0:
		return fmt.Sprintf("the contact failed: %s", r.Body)
	case len(created) == 1 && len(skipped) == 0:
		return ""
	case len(created) == 0 && len(skipped) == 1 && skipped[0].(map[string]any)["reason"] == "already imported":
		return ""
	}
	return fmt.Sprintf("not one contact imported: %s", r.Body)
}

// faultCases prepares, for every write route, fresh preconditions and the
// request (so each injected step starts from the same state).
func faultCases(e usersEnv) map[string]func() faultReq {
	var n atomic.Int64
	uniq := func(s string) string { return fmt.Sprintf("%s %d", s, n.Add(1)) }
	staff := func() string { return e.st.Token("demo", "owner", "owner-1") }
	company := func() string { return e.createCompany(uniq("Fault co")) }
	project := func(cids ...string) string {
		return e.createProject(uniq("Fault project"), map[string]any{"billing": "staff_hours", "companyIds": cids})
	}
	user := func(extra ...map[string]any) string {
		return e.addUser(strings.ReplaceAll(uniq("fault"), " ", "")+"@example.com", extra...)
	}
	invited := func() (uid, email, token string) {
		email = strings.ReplaceAll(uniq("client"), " ", "") + "@example.com"
		uid = e.addUser(email)
		return uid, email, inviteTokenOf(e.env, email)
	}
	client := func() (email, session string) {
		_, email, tok := invited()
		r := e.call("POST", "/v1/invites/"+url.PathEscape(tok)+"/accept", "", map[string]any{"password": "long enough pw"})
		want(e.t, r, 200)
		return email, r.String("token")
	}
	profile := func() string {
		return e.call("POST", "/v1/profiles", staff(), map[string]any{"name": uniq("Fault profile"), "permissions": map[string]any{"tasks": []string{"view"}}}).String("id")
	}
	// role is a fresh role no user holds (a role in use cannot be deleted).
	role := func() string {
		r := e.call("POST", "/v1/roles", staff(), map[string]any{"name": uniq("Fault role"), "permissions": map[string]any{"issues": []string{"view", "comment"}}})
		want(e.t, r, 201)
		return r.String("id")
	}
	template := func() string {
		return e.call("POST", "/v1/invitation-templates", staff(), map[string]any{"name": uniq("Fault template"), "subject": "s", "body": "b"}).String("id")
	}
	// connected makes sure portal demo is connected to the CRM stand-in
	// (the DELETE case disconnects it).
	connected := func() {
		if e.call("GET", "/v1/portal/crm", staff(), nil).Status == 404 {
			want(e.t, e.call("PUT", "/v1/portal/crm", staff(), e.crmCredentials()), 200)
		}
	}
	// account is a fresh account of the stand-in: each request makes its
	// own company, so the repeat of a request is comparable to the first.
	account := func() localcrm.Account {
		return e.st.CRM.AddAccount(localcrm.Account{Name: uniq("Fault CRM account"), Website: "https://fault.example"})
	}
	// signupLink is a fresh company's sign-up link: each case counts its
	// own sign-ups.
	signupLink := func() (cid, token string) {
		cid = company()
		return cid, e.signupLink(cid, nil)
	}
	return map[string]func() faultReq{
		"POST /v1/companies/{companyId}/signup-link": func() faultReq {
			return faultReq{"POST", "/v1/companies/" + company() + "/signup-link", staff(), map[string]any{"allowedDomains": []string{"example.com"}}, 201}
		},
		"DELETE /v1/companies/{companyId}/signup-link": func() faultReq {
			cid, _ := signupLink()
			return faultReq{"DELETE", "/v1/companies/" + cid + "/signup-link", staff(), nil, 204}
		},
		// A sign-up becomes a user as POST /v1/users makes one.
		"POST /v1/signup/{token}": func() faultReq {
			_, tok := signupLink()
			return faultReq{"POST", "/v1/signup/" + tok, "", map[string]any{"email": strings.ReplaceAll(uniq("signup"), " ", "") + "@example.com"}, 202}
		},
		"POST /portal/signup/{token}": func() faultReq {
			_, tok := signupLink()
			path := "/portal/signup/" + tok
			f := e.formOf(path)
			f.values.Set("email", strings.ReplaceAll(uniq("signup"), " ", "")+"@example.com")
			f.values.Set("name", "")
			return faultReq{"POST", path, "", f, 202}
		},
		"PUT /v1/portal/crm": func() faultReq {
			return faultReq{"PUT", "/v1/portal/crm", staff(), e.crmCredentials(), 200}
		},
		"DELETE /v1/portal/crm": func() faultReq {
			connected()
			return faultReq{"DELETE", "/v1/portal/crm", staff(), nil, 204}
		},
		"POST /v1/crm/imports": func() faultReq {
			connected()
			c := e.st.CRM.AddContact(localcrm.Contact{FirstName: "Fault", LastName: "Contact",
				Email: strings.ReplaceAll(uniq("crmcontact"), " ", "") + "@example.com", AccountID: account().ID})
			return faultReq{"POST", "/v1/crm/imports", staff(), map[string]any{"contactIds": []string{c.ID}}, 200}
		},
		"POST /v1/crm/deals/{dealId}/convert": func() faultReq {
			connected()
			d := e.st.CRM.AddDeal(localcrm.Deal{Name: uniq("Fault deal"), AccountID: account().ID, Stage: "Closed Won"})
			return faultReq{"POST", "/v1/crm/deals/" + d.ID + "/convert", staff(), nil, 201}
		},
		"POST /v1/exports": func() faultReq {
			return faultReq{"POST", "/v1/exports", staff(), map[string]any{"scope": "project", "projectIds": []string{e.hourly}}, 202}
		},
		"POST /v1/imports": func() faultReq {
			return faultReq{"POST", "/v1/imports", staff(), importBody("Hourly", uniq("Import co"), strings.ReplaceAll(uniq("imported"), " ", "")+"@example.com"), 200}
		},
		"PATCH /v1/portal": func() faultReq {
			return faultReq{"PATCH", "/v1/portal", staff(), map[string]any{"name": uniq("Portal")}, 200}
		},
		"POST /v1/invitation-templates": func() faultReq {
			return faultReq{"POST", "/v1/invitation-templates", staff(), map[string]any{"name": uniq("T"), "subject": "s", "body": "b"}, 201}
		},
		"PATCH /v1/invitation-templates/{templateId}": func() faultReq {
			return faultReq{"PATCH", "/v1/invitation-templates/" + template(), staff(), map[string]any{"name": uniq("Renamed")}, 200}
		},
		"DELETE /v1/invitation-templates/{templateId}": func() faultReq {
			return faultReq{"DELETE", "/v1/invitation-templates/" + template(), staff(), nil, 204}
		},
		"POST /v1/companies": func() faultReq {
			return faultReq{"POST", "/v1/companies", staff(), map[string]any{"name": uniq("New co"), "projectIds": []string{project()}}, 201}
		},
		"PATCH /v1/companies/{companyId}": func() faultReq {
			return faultReq{"PATCH", "/v1/companies/" + company(), staff(), map[string]any{"name": uniq("Renamed co")}, 200}
		},
		"DELETE /v1/companies/{companyId}": func() faultReq {
			c := company()
			project(c)
			e.addUser(strings.ReplaceAll(uniq("gone"), " ", "")+"@example.com", map[string]any{"companyId": c})
			return faultReq{"DELETE", "/v1/companies/" + c, staff(), nil, 204}
		},
		"POST /v1/projects": func() faultReq {
			return faultReq{"POST", "/v1/projects", staff(), map[string]any{"name": uniq("New project"), "companyIds": []string{company()}}, 201}
		},
		"PATCH /v1/projects/{projectId}": func() faultReq {
			return faultReq{"PATCH", "/v1/projects/" + project(), staff(), map[string]any{"name": uniq("Renamed project")}, 200}
		},
		"DELETE /v1/projects/{projectId}": func() faultReq {
			p := project(e.company)
			want(e.t, e.call("POST", "/v1/projects/"+p+"/users", staff(), map[string]any{"userIds": []string{user()}}), 201)
			return faultReq{"DELETE", "/v1/projects/" + p, staff(), nil, 204}
		},
		"POST /v1/projects/{projectId}/companies": func() faultReq {
			return faultReq{"POST", "/v1/projects/" + project() + "/companies", staff(), map[string]any{"companyId": company()}, 201}
		},
		"DELETE /v1/projects/{projectId}/companies/{companyId}": func() faultReq {
			c := company()
			return faultReq{"DELETE", "/v1/projects/" + project(c) + "/companies/" + c, staff(), nil, 204}
		},
		"PUT /v1/projects/{projectId}/primary-company": func() faultReq {
			c1, c2 := company(), company()
			return faultReq{"PUT", "/v1/projects/" + project(c1, c2) + "/primary-company", staff(), map[string]any{"companyId": c2}, 200}
		},
		"POST /v1/projects/{projectId}/users": func() faultReq {
			return faultReq{"POST", "/v1/projects/" + project(e.company) + "/users", staff(), map[string]any{"userIds": []string{user(), user()}}, 201}
		},
		"PATCH /v1/projects/{projectId}/users/{userId}": func() faultReq {
			return faultReq{"PATCH", "/v1/projects/" + e.hourly + "/users/" + user(map[string]any{"projectIds": []string{e.hourly}}), staff(), map[string]any{"ratePerHour": 42}, 200}
		},
		"DELETE /v1/projects/{projectId}/users/{userId}": func() faultReq {
			return faultReq{"DELETE", "/v1/projects/" + e.hourly + "/users/" + user(map[string]any{"projectIds": []string{e.hourly}}), staff(), nil, 204}
		},
		// The user writes give and take roles: each role's userCount moves
		// in the user's transaction.
		"POST /v1/users": func() faultReq {
			return faultReq{"POST", "/v1/users", staff(), map[string]any{"emails": strings.ReplaceAll(uniq("new"), " ", "") + "@example.com",
				"companyId": e.company, "projectIds": []string{e.hourly}, "roleIds": []string{role()}}, 201}
		},
		"PATCH /v1/users/{userId}": func() faultReq {
			u := user(map[string]any{"roleIds": []string{role()}})
			return faultReq{"PATCH", "/v1/users/" + u, staff(), map[string]any{"name": "Renamed", "title": uniq("Title"), "roleIds": []string{role()}}, 200}
		},
		"DELETE /v1/users/{userId}": func() faultReq {
			return faultReq{"DELETE", "/v1/users/" + user(map[string]any{"projectIds": []string{e.hourly}, "roleIds": []string{role()}}), staff(), nil, 204}
		},
		"POST /v1/users/{userId}/deactivate": func() faultReq {
			return faultReq{"POST", "/v1/users/" + user() + "/deactivate", staff(), nil, 200}
		},
		"POST /v1/users/{userId}/activate": func() faultReq {
			u := user()
			want(e.t, e.call("POST", "/v1/users/"+u+"/deactivate", staff(), nil), 200)
			return faultReq{"POST", "/v1/users/" + u + "/activate", staff(), nil, 200}
		},
		"POST /v1/users/{userId}/reinvite": func() faultReq {
			u := user()
			e.clock.Advance(25 * time.Hour)
			e.owner = staff() // the clock moved past the old token's life
			return faultReq{"POST", "/v1/users/" + u + "/reinvite", staff(), nil, 202}
		},
		"POST /v1/users/reinvite": func() faultReq {
			u := user()
			e.clock.Advance(25 * time.Hour)
			e.owner = staff()
			return faultReq{"POST", "/v1/users/reinvite", staff(), map[string]any{"userIds": []string{u}}, 200}
		},
		"POST /v1/invites/{token}/accept": func() faultReq {
			_, _, tok := invited()
			return faultReq{"POST", "/v1/invites/" + url.PathEscape(tok) + "/accept", "", map[string]any{"password": "long enough pw"}, 200}
		},
		"POST /portal/invite/{token}": func() faultReq {
			_, _, tok := invited()
			path := "/portal/invite/" + url.PathEscape(tok)
			f := e.formOf(path)
			f.values.Set("password", "long enough pw")
			return faultReq{"POST", path, "", f, 200}
		},
		"POST /portal/reset": func() faultReq {
			email, _ := client()
			f := e.formOf("/portal/reset?portal=demo")
			f.values.Set("step", "request")
			f.values.Set("portalId", "demo")
			f.values.Set("email", email)
			return faultReq{"POST", "/portal/reset", "", f, 200}
		},
		"POST /v1/portal/login": func() faultReq {
			email, _ := client()
			return faultReq{"POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": email, "password": "long enough pw"}, 200}
		},
		"POST /v1/portal/logout": func() faultReq {
			_, s := client()
			return faultReq{"POST", "/v1/portal/logout", s, nil, 204}
		},
		"POST /v1/portal/password-reset": func() faultReq {
			email, _ := client()
			return faultReq{"POST", "/v1/portal/password-reset", "", map[string]any{"portalId": "demo", "email": email}, 202}
		},
		"POST /v1/portal/password-reset/confirm": func() faultReq {
			email, _ := client()
			code := e.resetCode(email)
			return faultReq{"POST", "/v1/portal/password-reset/confirm", "", map[string]any{"portalId": "demo", "email": email, "code": code, "newPassword": "another long pw"}, 204}
		},
		"POST /v1/profiles": func() faultReq {
			return faultReq{"POST", "/v1/profiles", staff(), map[string]any{"name": uniq("Profile"), "permissions": map[string]any{"tasks": []string{"view"}}}, 201}
		},
		"PATCH /v1/profiles/{profileId}": func() faultReq {
			return faultReq{"PATCH", "/v1/profiles/" + profile(), staff(), map[string]any{"name": uniq("Renamed profile"), "permissions": map[string]any{}}, 200}
		},
		"DELETE /v1/profiles/{profileId}": func() faultReq {
			return faultReq{"DELETE", "/v1/profiles/" + profile(), staff(), nil, 204}
		},
		"POST /v1/roles": func() faultReq {
			return faultReq{"POST", "/v1/roles", staff(), map[string]any{"name": uniq("Role"), "permissions": map[string]any{"documents": []string{"view"}}}, 201}
		},
		"PATCH /v1/roles/{roleId}": func() faultReq {
			// A rename moves the name guard in the role's transaction.
			return faultReq{"PATCH", "/v1/roles/" + role(), staff(), map[string]any{"name": uniq("Renamed role"), "permissions": map[string]any{"tasks": []string{"view"}}}, 200}
		},
		"DELETE /v1/roles/{roleId}": func() faultReq {
			return faultReq{"DELETE", "/v1/roles/" + role(), staff(), nil, 204}
		},
		"PUT /v1/projects/{projectId}/users/{userId}/permissions": func() faultReq {
			u := user(map[string]any{"projectIds": []string{e.hourly}, "profileId": profile()})
			return faultReq{"PUT", "/v1/projects/" + e.hourly + "/users/" + u + "/permissions", staff(), map[string]any{"permissions": map[string]any{"tasks": []string{"edit"}}}, 200}
		},
		"DELETE /v1/projects/{projectId}/users/{userId}/permissions": func() faultReq {
			u := user(map[string]any{"projectIds": []string{e.hourly}})
			want(e.t, e.call("PUT", "/v1/projects/"+e.hourly+"/users/"+u+"/permissions", staff(), map[string]any{"permissions": map[string]any{}}), 200)
			return faultReq{"DELETE", "/v1/projects/" + e.hourly + "/users/" + u + "/permissions", staff(), nil, 200}
		},
		"POST /v1/projects/{projectId}/users/{userId}/permissions/clone": func() faultReq {
			src, t1, t2 := user(map[string]any{"projectIds": []string{e.hourly}}), user(map[string]any{"projectIds": []string{e.hourly}}), user(map[string]any{"projectIds": []string{e.hourly}})
			want(e.t, e.call("PUT", "/v1/projects/"+e.hourly+"/users/"+src+"/permissions", staff(), map[string]any{"permissions": map[string]any{"tasks": []string{"view"}}}), 200)
			return faultReq{"POST", "/v1/projects/" + e.hourly + "/users/" + src + "/permissions/clone", staff(), map[string]any{"targetUserIds": []string{t1, t2}}, 200}
		},
		"POST /v1/me/password": func() faultReq {
			_, s := client()
			return faultReq{"POST", "/v1/me/password", s, map[string]any{"currentPassword": "long enough pw", "newPassword": "another long pw"}, 200}
		},
		"PATCH /v1/me": func() faultReq {
			_, s := client()
			return faultReq{"PATCH", "/v1/me", s, map[string]any{"title": uniq("Title")}, 200}
		},
	}
}

// TestFaultMatrix: for every write route, DynamoDB goes down at each step
// of the request in turn (every call from the k-th on fails, SDK retries
// included). The answer is the success or a 503 with Retry-After, never a
// 500; the table's invariants hold; and once the fault clears, repeating
// the request completes it.
func TestFaultMatrix(t *testing.T) {
	t.Parallel() // the longest tests overlap: each alone waits on DynamoDB Local more than it computes
	e := newUsersEnv(t)
	e.st.HoldStream(true) // the export worker's requests would mix with the counted ones
	eachWriteRoute(t, e, faultCases(e), func(r template.Route, prepare func() faultReq) {
		t.Run(r.Key(), func(t *testing.T) {
			req := prepare()
			before := e.st.DynamoCalls()
			res := e.call(req.method, req.path, req.token, req.body)
			if res.Status != req.ok {
				t.Fatalf("healthy: %d %s", res.Status, res.Body)
			}
			steps := int(e.st.DynamoCalls() - before)
			for k := 1; k <= steps; k++ {
				req := prepare()
				var seen atomic.Int64
				e.st.FailDynamo(func(string) bool { return seen.Add(1) >= int64(k) })
				res, err := e.try(req.method, req.path, req.token, req.body)
				e.st.FailDynamo(nil)
				if err != nil {
					t.Fatalf("step %d/%d: %v", k, steps, err)
				}
				switch {
				case r.Key() == "POST /v1/crm/imports" && res.Status == req.ok:
					// A 200 of the import may still list the contact as failed.
					if msg := crmImportDone(res); msg != "" {
						t.Fatalf("step %d/%d: %s", k, steps, msg)
					}
				case res.Status == req.ok:
				case bulkRoutes[r.Key()] && res.Status == 207 && allUnavailable(res):
					// Per-item answers: the items that failed say 503; the
					// repeat adds them (and finds the others done).
					again := e.call(req.method, req.path, req.token, req.body)
					if again.Status != req.ok && again.Status != 207 {
						t.Fatalf("step %d/%d: after the fault, the repeat answered %d %s", k, steps, again.Status, again.Body)
					}
				case res.Status == 503 && res.Header.Get("Retry-After") != "":
					again := e.call(req.method, req.path, req.token, req.body)
					// A DELETE whose last step failed after its work was
					// done finds nothing left to delete on the repeat.
					if again.Status != req.ok && !(req.method == "DELETE" && again.Status == 404) {
						t.Fatalf("step %d/%d: after the fault, the repeat answered %d %s", k, steps, again.Status, again.Body)
					}
					if r.Key() == "POST /v1/crm/imports" {
						if msg := crmImportDone(again); msg != "" {
							t.Fatalf("step %d/%d: after the fault, the repeat %s", k, steps, msg)
						}
					}
				default:
					t.Fatalf("step %d/%d: %d %s (want %d, or 503 with Retry-After)", k, steps, res.Status, res.Body, req.ok)
				}
				e.consistentMidway()
			}
		})
	})
	e.consistent()
}

// TestMailFaults: with SES down, every route that sends mail still answers
// deliberately (the change made, the failure recorded and said; or 503
// with Retry-After), never a 500, the table holds, and once SES is back
// the same request (or the re-invite it points to) gets the email out.
func TestMailFaults(t *testing.T) {
	e := newUsersEnv(t)
	cases := faultCases(e)
	tests := []struct {
		route string
		query string
		want  int // the answer while SES is down
	}{
		{"POST /v1/users", "", 201},                       // created; invite.lastError says to re-invite
		{"POST /v1/crm/imports", "", 200},                 // as POST /v1/users: created, invite.lastError set
		{"POST /v1/signup/{token}", "", 202},              // as POST /v1/users, and 202 whatever happens
		{"POST /v1/users/{userId}/reinvite", "", 503},     // nothing sent: 503, gate reopened
		{"POST /v1/users/reinvite", "", 200},              // per user: outcome "failed"
		{"POST /v1/portal/password-reset", "", 202},       // always 202 (no enumeration)
		{"PATCH /v1/users/{userId}", "?notify=true", 200}, // the change stands; the notice is best effort
		{"DELETE /v1/users/{userId}", "?notify=true", 204},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			req := cases[tt.route]()
			before := len(e.st.Mail.Messages())
			e.st.Mail.FailWith(http.StatusServiceUnavailable, "ServiceUnavailable")
			res, err := e.try(req.method, req.path+tt.query, req.token, req.body)
			e.st.Mail.FailWith(0, "")
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.want || (res.Status == 503 && res.Header.Get("Retry-After") == "") {
				t.Fatalf("with SES down: %d %s, want %d", res.Status, res.Body, tt.want)
			}
			if n := len(e.st.Mail.Messages()); n != before {
				t.Fatalf("%d emails stored while SES was down", n-before)
			}
			e.consistent()
			switch tt.route {
			case "POST /v1/signup/{token}":
				email := req.body.(map[string]any)["email"].(string)
				users := e.call("GET", "/v1/users?q="+url.QueryEscape(email), e.st.Token("demo", "owner", "o"), nil).JSON()["items"].([]any)
				if len(users) != 1 {
					t.Fatalf("with SES down, the sign-up made %d users", len(users))
				}
				id := users[0].(map[string]any)["id"].(string)
				if e.invite(id)["lastError"] == nil {
					t.Fatal("the failed invitation is not recorded on the user")
				}
				want(t, e.call("POST", "/v1/users/"+id+"/reinvite", e.st.Token("demo", "owner", "o"), nil), 202)
			case "POST /v1/users", "POST /v1/crm/imports":
				created, _ := res.JSON()["created"].([]any)
				if len(created) != 1 {
					t.Fatalf("with SES down, not one user created: %s", res.Body)
				}
				id := created[0].(map[string]any)["id"].(string)
				if e.invite(id)["lastError"] == nil {
					t.Fatal("the failed invitation is not recorded on the user")
				}
				want(t, e.call("POST", "/v1/users/"+id+"/reinvite", e.st.Token("demo", "owner", "o"), nil), 202)
			case "POST /v1/users/reinvite":
				if out := res.JSON()["results"].([]any)[0].(map[string]any)["outcome"]; out != "failed" {
					t.Fatalf("outcome %v", out)
				}
				want(t, e.call(req.method, req.path, req.token, req.body), 200)
			case "POST /v1/users/{userId}/reinvite", "POST /v1/portal/password-reset":
				want(t, e.call(req.method, req.path, req.token, req.body), req.ok)
			default:
				return // a notice is not re-sent
			}
			if n := len(e.st.Mail.Messages()); n != before+1 {
				t.Fatalf("%d emails after SES came back, want 1", n-before)
			}
		})
	}
}

// importBody is a one-row import file; the harness sends a []byte body as
// is with the Content-Type header of the case.
type csvBody string

func importBody(project, company, email string) csvBody {
	return csvBody("email,name,company,projects,ratePerHour,profile\n" + email + ",Imported," + company + "," + project + ",,\n")
}

// TestServiceErrors: DynamoDB failing as a whole (InternalServerError),
// refusing for load (ThrottlingException, ProvisionedThroughputExceeded)
// and every transaction cancelled by a conflicting one, for every write
// route: a 503 with Retry-After (per item for bulk adds), never a 500,
// nothing half-written, and the same request completes once DynamoDB is
// healthy again.
func TestServiceErrors(t *testing.T) {
	t.Parallel() // the longest tests overlap: each alone waits on DynamoDB Local more than it computes
	e := newUsersEnv(t)
	e.st.HoldStream(true)
	cases := faultCases(e)
	faults := map[string]dynamodblocal.Fault{
		"InternalServerError":                    {Error: "InternalServerError"},
		"ThrottlingException":                    {Error: "ThrottlingException"},
		"ProvisionedThroughputExceededException": {Error: "ProvisionedThroughputExceededException"},
		"TransactionConflict":                    {Conflict: true},
	}
	for name, f := range faults {
		eachWriteRoute(t, e, cases, func(r template.Route, prepare func() faultReq) {
			t.Run(name+"/"+r.Key(), func(t *testing.T) {
				req := prepare()
				cancelled := 0
				var mu sync.Mutex
				e.st.Dynamo.Inject(func(d dynamodblocal.Request) *dynamodblocal.Fault {
					if f.Conflict && d.Op != "TransactWriteItems" {
						return nil
					}
					mu.Lock()
					cancelled++
					mu.Unlock()
					return &f
				})
				res, err := e.try(req.method, req.path, req.token, req.body)
				e.st.Dynamo.Inject(nil)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case f.Conflict && cancelled == 0:
					// The route wrote without a transaction.
					if res.Status != req.ok {
						t.Fatalf("without a transaction to cancel: %d %s", res.Status, res.Body)
					}
					return
				case r.Key() == "POST /v1/crm/imports" && res.Status == 200:
					// DynamoDB failing fails the whole import (503), never
					// one contact inside a 200.
					t.Fatalf("with %s: 200 %s (want 503 with Retry-After)", name, res.Body)
				case res.Status == 503 && res.Header.Get("Retry-After") != "":
				case bulkRoutes[r.Key()] && res.Status == 207 && allUnavailable(res):
				case r.Key() == "POST /v1/users/reinvite" && res.Status == 200 && allFailed(res):
					// Per user, once the list is read.
				case r.Method == "POST" && strings.HasPrefix(r.Path, "/portal/") && res.Status == 503:
					// The pages answer with an HTML error page.
				default:
					t.Fatalf("with %s: %d %s", name, res.Status, res.Body)
				}
				e.consistentMidway()
				again := e.call(req.method, req.path, req.token, req.body)
				if again.Status != req.ok {
					t.Fatalf("after the fault: %d %s", again.Status, again.Body)
				}
				if r.Key() == "POST /v1/crm/imports" {
					if msg := crmImportDone(again); msg != "" {
						t.Fatalf("after the fault, the import %s", msg)
					}
				}
			})
		})
	}
	e.consistent()
}

// eachWriteRoute calls f with every write route of template.yaml and its
// case (build cases once per test: they number the names they make); a
// write route without a case fails the test.
func eachWriteRoute(t *testing.T, e usersEnv, cases map[string]func() faultReq, f func(r template.Route, prepare func() faultReq)) {
	t.Helper()
	for _, r := range e.st.Routes {
		if r.Method == "GET" {
			continue
		}
		prepare, ok := cases[r.Key()]
		if !ok {
			t.Errorf("write route %s has no fault case", r.Key())
			continue
		}
		f(r, prepare)
	}
}

// TestIndexFailure: with only GSI1 failing, the lists that query it answer
// 503 while reads by key still work.
func TestIndexFailure(t *testing.T) {
	e := newUsersEnv(t)
	e.st.Dynamo.Inject(func(d dynamodblocal.Request) *dynamodblocal.Fault {
		if d.Index == "GSI1" {
			return &dynamodblocal.Fault{Error: "InternalServerError"}
		}
		return nil
	})
	list := e.call("GET", "/v1/companies", e.owner, nil)
	one := e.call("GET", "/v1/companies/"+e.company, e.owner, nil)
	e.st.Dynamo.Inject(nil)
	if list.Status != 503 || list.Header.Get("Retry-After") == "" {
		t.Fatalf("list with GSI1 down: %d %s", list.Status, list.Body)
	}
	want(t, one, 200)
	want(t, e.call("GET", "/v1/companies", e.owner, nil), 200)
}
