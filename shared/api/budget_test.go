package api_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateReadme = flag.Bool("update", false, "rewrite the access-pattern table in README.md")

// budget is one row of the README's access-pattern table: what an endpoint
// does to DynamoDB, how many requests that costs (round trips, one after
// another: no handler overlaps its DynamoDB calls) and the read and write
// capacity units they would consume on AWS (the proxy's figures, by AWS's
// rules from the items' sizes: table and indexes), measured below.
type budget struct {
	endpoint string
	ops      string
	want     int
	rcu, wcu float64
	run      func(e *env) resp
}

func TestRequestBudget(t *testing.T) {
	e := newEnv(t)
	e.st.Dynamo.Meter(true)
	c1 := e.createCompany("Budget one")
	c2 := e.createCompany("Budget two")
	c3 := e.createCompany("Budget three")
	p1 := e.createProject("Budget project", map[string]any{"companyIds": []string{c1}})
	p2 := e.createProject("Budget empty")
	lone := e.createCompany("Budget lone")
	bare := e.createProject("Budget bare")
	var tpl, signup string
	want(t, e.call("POST", "/v1/companies/"+c3+"/signup-link", e.owner, map[string]any{}), 201) // replaced below
	unused := e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": "Budget unused", "subject": "s", "body": "b"}).String("id")
	rows := []budget{
		{"GET /v1/portal", "GetItem", 1, 1, 0, func(e *env) resp { return e.call("GET", "/v1/portal", e.owner, nil) }},
		{"PATCH /v1/portal", "GetItem + TransactWriteItems(Update)", 2, 1, 2, func(e *env) resp {
			return e.call("PATCH", "/v1/portal", e.owner, map[string]any{"inviteLinkTtlHours": 72})
		}},
		{"GET /v1/invitation-templates", "Query(GSI1, one page; the built-in template costs nothing)", 1, 0.5, 0, func(e *env) resp {
			return e.call("GET", "/v1/invitation-templates", e.owner, nil)
		}},
		{"POST /v1/invitation-templates", "TransactWriteItems(Put template, Put name guard)", 1, 0, 5, func(e *env) resp {
			r := e.call("POST", "/v1/invitation-templates", e.owner, map[string]any{"name": "Budget", "subject": "s", "body": "{{.InviteURL}}"})
			tpl = r.String("id")
			return r
		}},
		{"GET /v1/invitation-templates/{templateId}", "GetItem (the built-in one: none)", 1, 1, 0, func(e *env) resp {
			return e.call("GET", "/v1/invitation-templates/"+tpl, e.owner, nil)
		}},
		{"PATCH /v1/invitation-templates/{templateId}", "GetItem + TransactWriteItems(Put template; a rename: + Put new guard, Delete old)", 2, 1, 3, func(e *env) resp {
			return e.call("PATCH", "/v1/invitation-templates/"+tpl, e.owner, map[string]any{"subject": "t"})
		}},
		{"DELETE /v1/invitation-templates/{templateId}", "GetItem + TransactWriteItems(Delete template, Delete guard, ConditionCheck portal not using it)", 2, 1, 7, func(e *env) resp {
			return e.call("DELETE", "/v1/invitation-templates/"+unused, e.owner, nil)
		}},
		{"Scheduled reminders (hourly run, nothing due)", "Query(GSI5) per shard (8) and page; per due user: GetItem(portal, once per run) + GetItem(gate) + GetItem(user) + GetItem(company, once per run) + TransactWriteItems(gate, user, copies, history, link) + SES SendEmail", 8, 4, 0, func(e *env) resp {
			if _, err := e.st.RunReminders(context.Background(), e.srv.URL); err != nil {
				t.Fatal(err)
			}
			return resp{Status: 200}
		}},
		{"POST /v1/companies", "TransactWriteItems(Put company, Put name guard, Put history)", 1, 0, 7, func(e *env) resp {
			return e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "Budget new"})
		}},
		{"POST /v1/companies (with projectIds)", "TransactGetItems(projects) + TransactWriteItems(+ Update per project)", 2, 2, 10, func(e *env) resp {
			return e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "Budget linked", "projectIds": []string{p2}})
		}},
		{"POST (any, with Idempotency-Key)", "+ GetItem(record); the record is Put in the same transaction", 2, 1, 9, func(e *env) resp {
			return e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "Budget keyed"}, "Idempotency-Key", "budget")
		}},
		{"POST (replayed Idempotency-Key)", "GetItem(record)", 1, 1, 0, func(e *env) resp {
			return e.call("POST", "/v1/companies", e.owner, map[string]any{"name": "Budget keyed"}, "Idempotency-Key", "budget")
		}},
		{"GET /v1/companies", "Query(GSI1, one page)", 1, 0.5, 0, func(e *env) resp { return e.call("GET", "/v1/companies?limit=2", e.owner, nil) }},
		{"GET /v1/companies?q=", "Query(GSI1, begins_with)", 1, 0.5, 0, func(e *env) resp { return e.call("GET", "/v1/companies?q=budg", e.owner, nil) }},
		{"GET /v1/companies/{companyId}", "GetItem", 1, 1, 0, func(e *env) resp { return e.call("GET", "/v1/companies/"+c1, e.owner, nil) }},
		{"PATCH /v1/companies/{companyId}", "GetItem + TransactWriteItems(Update, Put history)", 2, 1, 5, func(e *env) resp {
			return e.call("PATCH", "/v1/companies/"+c1, e.owner, map[string]any{"website": "https://budget.example"})
		}},
		{"PATCH /v1/companies/{companyId} (rename)", "GetItem + TransactWriteItems(Update, Put history, Delete old guard, Put new guard)", 2, 1, 10, func(e *env) resp {
			return e.call("PATCH", "/v1/companies/"+c1, e.owner, map[string]any{"name": "Budget one renamed"})
		}},
		{"GET /v1/companies/{companyId}/history", "Query(PK, from the company item down: proves it exists)", 1, 0.5, 0, func(e *env) resp {
			return e.call("GET", "/v1/companies/"+c1+"/history", e.owner, nil)
		}},
		{"POST /v1/companies/{companyId}/signup-link (replacing one)", "TransactGetItems(portal, company, link) + TransactWriteItems(ConditionCheck company, Put token, Put link, Delete old token)", 2, 6, 8, func(e *env) resp {
			return e.call("POST", "/v1/companies/"+c3+"/signup-link", e.owner, map[string]any{"allowedDomains": []string{"budget.example"}})
		}},
		{"GET /v1/companies/{companyId}/signup-link", "TransactGetItems(link, portal)", 1, 4, 0, func(e *env) resp {
			r := e.call("GET", "/v1/companies/"+c3+"/signup-link", e.owner, nil)
			signup = r.String("url")[strings.LastIndex(r.String("url"), "/")+1:]
			return r
		}},
		{"GET /v1/signup/{token}", "GetItem(token) + TransactGetItems(portal, company)", 2, 5, 0, func(e *env) resp {
			return e.call("GET", "/v1/signup/"+signup, "", nil)
		}},
		{"POST /v1/signup/{token}", "as GET /v1/signup/{token} + TransactWriteItems(as POST /v1/users, + Update token: the hourly count) + SES SendEmail", 3, 5, 34, func(e *env) resp {
			return e.call("POST", "/v1/signup/"+signup, "", map[string]any{"email": "budget.signup@budget.example"})
		}},
		{"DELETE /v1/companies/{companyId}/signup-link", "GetItem(link) + TransactWriteItems(Delete link, Delete token)", 2, 1, 4, func(e *env) resp {
			return e.call("DELETE", "/v1/companies/"+c3+"/signup-link", e.owner, nil)
		}},
		{"DELETE /v1/companies/{companyId} (no users or projects, 1 history entry)", "GetItem + TransactWriteItems(mark) + Query(users) + GetItem + Query + TransactWriteItems(Delete history page) + Query + GetItem(sign-up link) + TransactWriteItems(Delete company, guard, any sign-up link and its token; Put tombstone); +1 Query per 25 users and per user GetItem, Query(history), GetItem, TransactWriteItems (+1 TransactWriteItems per 100 history entries); +3 per 40 projects (GetItem, TransactGetItems, TransactWriteItems); +2 per 100 history entries", 9, 4.5, 11, func(e *env) resp {
			return e.call("DELETE", "/v1/companies/"+lone, e.owner, nil)
		}},
		{"POST /v1/projects", "TransactWriteItems(Put project)", 1, 0, 3, func(e *env) resp {
			return e.call("POST", "/v1/projects", e.owner, map[string]any{"name": "Budget p"})
		}},
		{"POST /v1/projects (with companyIds)", "TransactGetItems(companies) + TransactWriteItems(+ Update and history per company)", 2, 2, 8, func(e *env) resp {
			return e.call("POST", "/v1/projects", e.owner, map[string]any{"name": "Budget p2", "companyIds": []string{c2}})
		}},
		{"GET /v1/projects", "Query(GSI1, one page)", 1, 0.5, 0, func(e *env) resp { return e.call("GET", "/v1/projects", e.owner, nil) }},
		{"GET /v1/projects/{projectId}", "GetItem", 1, 1, 0, func(e *env) resp { return e.call("GET", "/v1/projects/"+p1, e.owner, nil) }},
		{"PATCH /v1/projects/{projectId}", "GetItem + TransactWriteItems(Update)", 2, 1, 3, func(e *env) resp {
			return e.call("PATCH", "/v1/projects/"+p1, e.owner, map[string]any{"billing": "staff_hours"})
		}},
		{"POST /v1/projects/{projectId}/companies", "TransactGetItems(project, company) + TransactWriteItems(Update project, Update company, Put history)", 2, 4, 8, func(e *env) resp {
			return e.call("POST", "/v1/projects/"+p1+"/companies", e.owner, map[string]any{"companyId": c3})
		}},
		{"PUT /v1/projects/{projectId}/primary-company", "GetItem + TransactWriteItems(Update project, Put 2 history)", 2, 1, 7, func(e *env) resp {
			return e.call("PUT", "/v1/projects/"+p1+"/primary-company", e.owner, map[string]any{"companyId": c3})
		}},
		{"DELETE /v1/projects/{projectId}/companies/{companyId}", "GetItem + Query(members) + GetItem + TransactWriteItems(Update project, Update company, Put history) + Query(members, again); +2 per member of that company (GetItem, TransactWriteItems)", 5, 3, 8, func(e *env) resp {
			return e.call("DELETE", "/v1/projects/"+p1+"/companies/"+c3, e.owner, nil)
		}},
		{"DELETE /v1/projects/{projectId} (no companies or members)", "GetItem + TransactWriteItems(mark) + GetItem + Query(members) + TransactWriteItems(Delete); +1 Query per 25 members and 2 per member; +2 per 40 companies (GetItem, TransactWriteItems)", 5, 2.5, 5, func(e *env) resp {
			return e.call("DELETE", "/v1/projects/"+bare, e.owner, nil)
		}},
	}
	// Users of c1, which is on p1.
	var u1, u2, u3, session, prof string
	unusedProfile := e.call("POST", "/v1/profiles", e.owner, map[string]any{"name": "Budget unused", "permissions": map[string]any{}}).String("id")
	// A client on a custom profile, signed in, for /v1/me/projects.
	customProfile := e.call("POST", "/v1/profiles", e.owner, map[string]any{"name": "Budget custom", "permissions": map[string]any{"tasks": []string{"view"}}}).String("id")
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "budget-custom@example.com", "companyId": c1, "projectIds": []string{p1}, "profileId": customProfile}), 201)
	customSession := e.call("POST", "/v1/invites/"+inviteTokenOf(e, "budget-custom@example.com")+"/accept", "", map[string]any{"password": "budget password"}).String("token")
	// A client holding two roles besides that profile.
	var roles []string
	for _, name := range []string{"Budget editor", "Budget commenter"} {
		roles = append(roles, e.call("POST", "/v1/roles", e.owner, map[string]any{"name": name, "permissions": map[string]any{"issues": []string{"comment"}}}).String("id"))
	}
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "budget-roles@example.com", "companyId": c1, "projectIds": []string{p1}, "profileId": customProfile, "roleIds": roles}), 201)
	rolesSession := e.call("POST", "/v1/invites/"+inviteTokenOf(e, "budget-roles@example.com")+"/accept", "", map[string]any{"password": "budget password"}).String("token")
	grouped := e.createCompany("Budget grouped", map[string]any{"createUserGroup": true})
	rows = append(rows,
		budget{"POST /v1/users (one address, with portal access)", "TransactGetItems(portal, company, projects) + TransactWriteItems(Put user, Put email guard, Update company count, Update portal seats, Put invite, Put history, Put+ConditionCheck per project) + SES SendEmail", 2, 6, 46, func(e *env) resp {
			r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "budget1@example.com", "companyId": c1, "projectIds": []string{p1}})
			u1 = r.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
			return r
		}},
		budget{"POST /v1/users (n addresses)", "1 TransactGetItems + n TransactWriteItems (each address its own outcome)", 4, 4, 96, func(e *env) resp {
			r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "b2@example.com, b3@example.com, b4@example.com", "companyId": c1})
			u2 = r.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
			u3 = r.JSON()["created"].([]any)[1].(map[string]any)["id"].(string)
			return r
		}},
		budget{"GET /v1/users", "Query(GSI1: all users by address)", 1, 0.5, 0, func(e *env) resp { return e.call("GET", "/v1/users?limit=3", e.owner, nil) }},
		budget{"GET /v1/users?q= (address or name prefix)", "Query(GSI3, or GSI4 with status: search entries); another only to avoid an empty page", 1, 0.5, 0, func(e *env) resp {
			return e.call("GET", "/v1/users?q=budget", e.owner, nil)
		}},
		budget{"GET /v1/users?status=", "Query(GSI2: users of one status by address)", 1, 1, 0, func(e *env) resp { return e.call("GET", "/v1/users?status=invited", e.owner, nil) }},
		budget{"GET /v1/profiles", "Query(GSI1, one page; the built-in profile costs nothing)", 1, 0.5, 0, func(e *env) resp { return e.call("GET", "/v1/profiles", e.owner, nil) }},
		budget{"POST /v1/profiles", "TransactWriteItems(Put profile, Put name guard)", 1, 0, 5, func(e *env) resp {
			r := e.call("POST", "/v1/profiles", e.owner, map[string]any{"name": "Budget profile", "permissions": map[string]any{"tasks": []string{"view"}}})
			prof = r.String("id")
			return r
		}},
		budget{"GET /v1/profiles/{profileId}", "GetItem (the built-in one: none)", 1, 1, 0, func(e *env) resp { return e.call("GET", "/v1/profiles/"+prof, e.owner, nil) }},
		budget{"PATCH /v1/profiles/{profileId}", "GetItem + TransactWriteItems(Update profile; a rename: + guards). Users without a customization see the new set at once: nothing is copied to them", 2, 1, 3, func(e *env) resp {
			return e.call("PATCH", "/v1/profiles/"+prof, e.owner, map[string]any{"permissions": map[string]any{"tasks": []string{"view", "comment"}}})
		}},
		budget{"DELETE /v1/profiles/{profileId}", "GetItem + TransactWriteItems(Delete profile if userCount = 0, Delete guard)", 2, 1, 5, func(e *env) resp {
			return e.call("DELETE", "/v1/profiles/"+unusedProfile, e.owner, nil)
		}},
		budget{"PATCH /v1/users/{userId} (profileId)", "GetItem + TransactWriteItems(Put user, copies, history, Update both profiles' userCount)", 2, 1, 41, func(e *env) resp {
			return e.call("PATCH", "/v1/users/"+u1, e.owner, map[string]any{"profileId": prof})
		}},
		budget{"GET /v1/users/{userId}", "GetItem", 1, 1, 0, func(e *env) resp { return e.call("GET", "/v1/users/"+u1, e.owner, nil) }},
		budget{"GET /v1/users/{userId}/history", "Query(PK, from the user item down)", 1, 0.5, 0, func(e *env) resp { return e.call("GET", "/v1/users/"+u1+"/history", e.owner, nil) }},
		budget{"GET /v1/companies/{companyId}/users", "GetItem(company) + Query(GSI1 or GSI2: the company's user copies)", 2, 2, 0, func(e *env) resp {
			return e.call("GET", "/v1/companies/"+c1+"/users?status=invited", e.owner, nil)
		}},
		budget{"GET /v1/projects/{projectId}/users", "GetItem(project) + Query(GSI1 or GSI2: the project's user copies)", 2, 1.5, 0, func(e *env) resp {
			return e.call("GET", "/v1/projects/"+p1+"/users", e.owner, nil)
		}},
		budget{"GET /v1/users?companyId= or ?projectId=", "Query(GSI1 or GSI2 over the copies)", 1, 0.5, 0, func(e *env) resp {
			return e.call("GET", "/v1/users?projectId="+p1+"&status=invited", e.owner, nil)
		}},
		budget{"GET /v1/companies/{companyId}/group", "GetItem(company)", 1, 1, 0, func(e *env) resp { return e.call("GET", "/v1/companies/"+grouped+"/group", e.owner, nil) }},
		budget{"PATCH /v1/users/{userId}", "TransactGetItems(named projects, if any) + GetItem + TransactWriteItems(Put user, Put copies, ConditionCheck joined projects, Put history)", 2, 1, 38, func(e *env) resp {
			return e.call("PATCH", "/v1/users/"+u1, e.owner, map[string]any{"title": "Buyer"})
		}},
		budget{"POST /v1/users/{userId}/deactivate (and /activate)", "GetItem + TransactWriteItems(Put user, Put copies, Update portal seats, Put history)", 2, 1, 51, func(e *env) resp {
			return e.call("POST", "/v1/users/"+u1+"/deactivate", e.owner, nil)
		}},
		budget{"POST /v1/projects/{projectId}/users (n users)", "GetItem(project) + per user GetItem + TransactWriteItems", 5, 3, 68, func(e *env) resp {
			return e.call("POST", "/v1/projects/"+p1+"/users", e.owner, map[string]any{"userIds": []string{u2, u3}})
		}},
		budget{"GET /v1/projects/{projectId}/users/{userId}/permissions", "GetItem(user; it holds its customizations) + GetItem(profile) for a custom profile (none for the built-in one)", 1, 1, 0, func(e *env) resp {
			return e.call("GET", "/v1/projects/"+p1+"/users/"+u2+"/permissions", e.owner, nil)
		}},
		budget{"PUT /v1/projects/{projectId}/users/{userId}/permissions", "GetItem(user) + GetItem(profile, custom only) + TransactWriteItems(Put user, copies, history)", 2, 1, 38, func(e *env) resp {
			return e.call("PUT", "/v1/projects/"+p1+"/users/"+u2+"/permissions", e.owner, map[string]any{"permissions": map[string]any{"tasks": []string{"view", "edit"}}})
		}},
		budget{"POST /v1/projects/{projectId}/users/{userId}/permissions/clone (n targets)", "GetItem(source) + per target GetItem + TransactWriteItems (+ GetItem per custom profile, once)", 3, 2, 38, func(e *env) resp {
			return e.call("POST", "/v1/projects/"+p1+"/users/"+u2+"/permissions/clone", e.owner, map[string]any{"targetUserIds": []string{u3}})
		}},
		budget{"DELETE /v1/projects/{projectId}/users/{userId}/permissions", "GetItem(user) + GetItem(profile, custom only) + TransactWriteItems(Put user, copies, history)", 2, 1, 38, func(e *env) resp {
			return e.call("DELETE", "/v1/projects/"+p1+"/users/"+u3+"/permissions", e.owner, nil)
		}},
		budget{"GET /v1/me/projects (a user on a custom profile, with 2 roles)", "as on a custom profile: the roles are read in the same TransactGetItems as the projects and the profile, so roles cost no request", 3, 13, 0, func(e *env) resp {
			r := e.call("GET", "/v1/me/projects", rolesSession, nil)
			if items := r.JSON()["items"].([]any); len(items) != 1 || fmt.Sprint(items[0].(map[string]any)["permissions"]) != "map[issues:[comment] tasks:[view]]" {
				t.Fatalf("me/projects %s", r.Body)
			}
			return r
		}},
		budget{"GET /v1/me/projects (a user on a custom profile)", "GetItem(session) + TransactGetItems(user, credential epoch) + TransactGetItems(the user's projects + the profile, when a project has no customization): the permissions of every project in that one request", 3, 9, 0, func(e *env) resp {
			r := e.call("GET", "/v1/me/projects", customSession, nil)
			if items := r.JSON()["items"].([]any); len(items) != 1 || fmt.Sprint(items[0].(map[string]any)["permissions"]) != "map[tasks:[view]]" {
				t.Fatalf("me/projects %s", r.Body)
			}
			return r
		}},
		budget{"PATCH /v1/projects/{projectId}/users/{userId}", "GetItem(project) + GetItem(user) + TransactWriteItems", 3, 2, 38, func(e *env) resp {
			return e.call("PATCH", "/v1/projects/"+p1+"/users/"+u2, e.owner, map[string]any{"ratePerHour": 50})
		}},
		budget{"DELETE /v1/projects/{projectId}/users/{userId}", "GetItem(project) + GetItem(user) + TransactWriteItems(Put user, Put copies, Delete project copy, Put history)", 3, 2, 38, func(e *env) resp {
			return e.call("DELETE", "/v1/projects/"+p1+"/users/"+u2, e.owner, nil)
		}},
		budget{"POST /v1/users/{userId}/reinvite (gate open)", "GetItem(portal) + TransactGetItems(user, gate; the write starts from this read) + GetItem(company, read before the write so that only the email can fail after it) + TransactWriteItems(Put gate if expired, Put user, copies, history, new link; Delete old link) + SES SendEmail", 4, 7, 40, func(e *env) resp {
			e.clock.Advance(25 * time.Hour)
			e.owner = e.st.Token("demo", "owner", "owner-1")
			return e.call("POST", "/v1/users/"+u3+"/reinvite", e.owner, nil)
		}},
		budget{"POST /v1/users/{userId}/reinvite (gated)", "GetItem(portal) + GetItem(gate) -> 429 (a concurrent winner: + GetItem(user) + cancelled TransactWriteItems + GetItem(gate))", 2, 6, 0, func(e *env) resp {
			r := e.call("POST", "/v1/users/"+u3+"/reinvite", e.owner, nil)
			r.Status = 200 // the budget of the refusal is what is measured here
			return r
		}},
		budget{"POST /v1/users/reinvite (n users)", "GetItem(portal) + per user the single re-invite's requests (a gated user: 1 GetItem); with status, + 1 Query(GSI2) per 100 users", 2, 6, 0, func(e *env) resp {
			return e.call("POST", "/v1/users/reinvite", e.owner, map[string]any{"userIds": []string{u3}})
		}},
		budget{"GET /v1/invites/{token}", "GetItem(link, naming user and company) + TransactGetItems(user, portal, company)", 2, 7, 0, func(e *env) resp {
			return e.call("GET", "/v1/invites/"+inviteTokenOf(e, "b3@example.com"), "", nil)
		}},
		budget{"POST /v1/invites/{token}/accept", "GET's 2 + GetItem(user) + TransactWriteItems(Put user, copies, history; Delete link; Put credential, session)", 4, 8, 49, func(e *env) resp {
			r := e.call("POST", "/v1/invites/"+inviteTokenOf(e, "b3@example.com")+"/accept", "", map[string]any{"password": "budget password"})
			session = r.String("token")
			return r
		}},
		budget{"POST /v1/portal/login", "TransactGetItems(failure counter, email guard) + TransactGetItems(user, credential) + TransactWriteItems(Put session, Delete counter); a failure: the reads + UpdateItem or Put of the counter", 3, 8, 4, func(e *env) resp {
			return e.call("POST", "/v1/portal/login", "", map[string]any{"portalId": "demo", "email": "b3@example.com", "password": "budget password"})
		}},
		budget{"POST /v1/portal/password-reset", "GetItem(portal) + the login reads (2 TransactGetItems) + TransactWriteItems(Put code) + SES SendEmail; an address without a password: the reads only (the same for every address)", 4, 9, 2, func(e *env) resp {
			return e.call("POST", "/v1/portal/password-reset", "", map[string]any{"portalId": "demo", "email": "b3@example.com"})
		}},
		budget{"POST /v1/portal/password-reset/confirm (wrong code)", "GetItem(code) + TransactWriteItems(count the try); right code: GetItem + TransactWriteItems(Delete code, Update credential and epoch, Put history)", 2, 1, 2, func(e *env) resp {
			r := e.call("POST", "/v1/portal/password-reset/confirm", "", map[string]any{"portalId": "demo", "email": "b3@example.com", "code": "000000", "newPassword": "budget password 2"})
			r.Status = 200 // a wrong code is the 400 measured here
			return r
		}},
		budget{"GET /v1/me", "GetItem(session) + TransactGetItems(user, credential epoch)", 2, 5, 0, func(e *env) resp { return e.call("GET", "/v1/me", session, nil) }},
		budget{"PATCH /v1/me", "GetItem(session) + TransactGetItems(user, credential epoch) + GetItem(user) + TransactWriteItems(Put user, copies, history)", 4, 6, 32, func(e *env) resp {
			return e.call("PATCH", "/v1/me", session, map[string]any{"timeFormat": "24h"})
		}},
		budget{"GET /v1/me/projects (a user on one project, built-in profile)", "GetItem(session) + TransactGetItems(user, credential epoch) + TransactGetItems(the user's projects, when on any; the user's customizations come with the user)", 3, 7, 0, func(e *env) resp {
			return e.call("GET", "/v1/me/projects", session, nil)
		}},
		budget{"POST /v1/me/password", "GetItem(session) + TransactGetItems(user, credential epoch) + the login reads (2 TransactGetItems) + TransactWriteItems(Update credential and epoch, Put session, Delete failure counter, Put history); a wrong current password: the reads + UpdateItem or Put of the counter", 5, 13, 8, func(e *env) resp {
			r := e.call("POST", "/v1/me/password", session, map[string]any{"currentPassword": "budget password", "newPassword": "budget password 3"})
			session = r.String("token")
			return r
		}},
		budget{"POST /v1/portal/logout", "GetItem(session) + TransactGetItems(user, credential epoch) + TransactWriteItems(Delete session)", 3, 5, 2, func(e *env) resp {
			return e.call("POST", "/v1/portal/logout", session, nil)
		}},
		budget{"DELETE /v1/users/{userId} (1 history entry)", "GetItem + Query(history) + TransactWriteItems(Delete history page) + Query + GetItem + TransactWriteItems(Delete user, guard, copies, invite; Update seats, company count; Put tombstone)", 6, 3, 44, func(e *env) resp {
			return e.call("DELETE", "/v1/users/"+u2, e.owner, nil)
		}},
	)

	// The portal pages: the JSON endpoints' services behind HTML forms.
	pageUser := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "page@example.com", "companyId": c1})
	want(t, pageUser, 201)
	v := e.visitor()
	var invitePage, resetPage resp
	rows = append(rows,
		budget{"GET /portal/invite/{token}", "as GET /v1/invites/{token}", 2, 7, 0, func(e *env) resp {
			invitePage = v.get("/portal/invite/" + inviteTokenOf(e, "page@example.com"))
			return invitePage
		}},
		budget{"POST /portal/invite/{token}", "as POST /v1/invites/{token}/accept, without the session item", 4, 8, 29, func(e *env) resp {
			return v.post("/portal/invite/"+inviteTokenOf(e, "page@example.com"), url.Values{"csrf": {csrf(t, invitePage)}, "password": {"budget password"}})
		}},
		budget{"GET /portal/reset", "none", 0, 0, 0, func(e *env) resp {
			resetPage = v.get("/portal/reset?portal=demo")
			return resetPage
		}},
		budget{"POST /portal/reset (step=request)", "as POST /v1/portal/password-reset", 4, 9, 2, func(e *env) resp {
			return v.post("/portal/reset", url.Values{"csrf": {csrf(t, resetPage)}, "step": {"request"}, "portalId": {"demo"}, "email": {"page@example.com"}})
		}},
		budget{"POST /portal/reset (step=confirm, wrong code)", "as POST /v1/portal/password-reset/confirm", 2, 1, 2, func(e *env) resp {
			r := v.post("/portal/reset", url.Values{"csrf": {csrf(t, resetPage)}, "step": {"confirm"}, "portalId": {"demo"},
				"email": {"page@example.com"}, "code": {"000000"}, "newPassword": {"budget password 2"}})
			r.Status = 200 // a wrong code is the 400 measured here
			return r
		}},
	)
	var exportID string
	rows = append(rows,
		budget{"POST /v1/exports", "TransactWriteItems(Put job); with projectIds: + TransactGetItems(projects)", 1, 0, 3, func(e *env) resp {
			e.st.HoldStream(true) // the worker runs in its own row
			r := e.call("POST", "/v1/exports", e.owner, map[string]any{"scope": "portal"})
			exportID = r.String("id")
			return r
		}},
		budget{"Export worker (one delivery, up to 500 users)", "UpdateItem(claim) + Query(GSI1 profiles), Query(GSI1 roles), Query(GSI1 companies) and Query(GSI1 projects) per 200 + Query(GSI1 users) and UpdateItem(rowsWritten) per 500 users (per project file by project) + UpdateItem(ready); S3: multipart upload per 5 MiB part", 8, 3, 6, func(e *env) resp {
			if err := e.st.InvokeExportWorker(context.Background(), e.jobEvent(exportID)); err != nil {
				t.Fatal(err)
			}
			return resp{Status: 200}
		}},
		budget{"GET /v1/exports/{exportId}", "GetItem (+ a presigned S3 URL, no request)", 1, 1, 0, func(e *env) resp {
			return e.call("GET", "/v1/exports/"+exportID, e.owner, nil)
		}},
		budget{"GET /v1/exports", "Query(GSI1, newest first)", 1, 0.5, 0, func(e *env) resp { return e.call("GET", "/v1/exports", e.owner, nil) }},
		budget{"POST /v1/imports (one new user; its existing company joins the project)", "Query(GSI1 projects) per 200 projects + Query(GSI1 profiles) per 200 profiles; per row: GetItem(email guard) + GetItem(company name guard) + GetItem(company) + TransactWriteItems(the user, as POST /v1/users writes it); a company off a row's project: + TransactGetItems + TransactWriteItems(add it); a new company: one TransactWriteItems(create, on its projects) instead", 7, 5, 51, func(e *env) resp {
			return e.call("POST", "/v1/imports", e.owner, csvBody("email,name,company,projects,ratePerHour,profile\nimported@example.com,Imp,Budget one,Budget project,,\n"))
		}},
	)

	rows = append(rows,
		budget{"PUT /v1/portal/crm", "GetItem(connection, for If-Match) + PutItem(version condition); before them the CRM's token exchange and KMS Encrypt", 2, 1, 1, func(e *env) resp {
			return e.call("PUT", "/v1/portal/crm", e.owner, e.crmCredentials())
		}},
		budget{"GET /v1/portal/crm", "GetItem (no CRM call)", 1, 1, 0, func(e *env) resp { return e.call("GET", "/v1/portal/crm", e.owner, nil) }},
		budget{"GET /v1/crm/contacts", "GetItem(connection) + BatchGetItem(the page's contact guards: who is imported); KMS Decrypt and the CRM pages the page spans", 2, 13, 0, func(e *env) resp {
			return e.call("GET", "/v1/crm/contacts", e.owner, nil)
		}},
		budget{"POST /v1/crm/imports (one contact of a new account)", "GetItem(connection) + BatchGetItem(contact guards) + BatchGetItem(account guards) + GetItem(company name guard) + TransactWriteItems(company, name and account guards, history) + TransactGetItems(portal, company: as POST /v1/users) + TransactWriteItems(the user as POST /v1/users writes it, with the contact guard) + SES SendEmail; the CRM: one GET per contact and per account, all before the first write", 7, 8, 51, func(e *env) resp {
			return e.importContacts(map[string]any{"contactIds": e.contactIDs("alice@acme.example")})
		}},
		budget{"POST /v1/crm/deals/{dealId}/convert (new project, its account's company exists)", "BatchGetItem(deal guard) + GetItem(connection) + BatchGetItem(account guard) + GetItem(company, for the answer: read before the write) + TransactWriteItems(project, company's link, history, deal guard); the CRM: GET deal, GET account", 5, 4, 10, func(e *env) resp {
			return e.call("POST", "/v1/crm/deals/"+e.deal("Acme website relaunch").ID+"/convert", e.owner, nil)
		}},
		budget{"DELETE /v1/portal/crm", "GetItem(connection, for If-Match) + DeleteItem(version condition)", 2, 1, 1, func(e *env) resp {
			return e.call("DELETE", "/v1/portal/crm", e.owner, nil)
		}},
	)

	// Last: invitations after it would cost one more read each.
	rows = append(rows, budget{"PATCH /v1/portal (invitationTemplateId)", "GetItem + TransactWriteItems(Update portal, ConditionCheck template); invitations then cost + GetItem(template) each", 2, 1, 4, func(e *env) resp {
		return e.call("PATCH", "/v1/portal", e.owner, map[string]any{"invitationTemplateId": tpl})
	}})

	for _, row := range rows {
		t.Run(row.endpoint, func(t *testing.T) {
			before, byOp, capBefore := e.st.DynamoCalls(), e.st.DynamoCallsByOp(), e.st.Dynamo.Capacity()
			r := row.run(e)
			used := e.st.Dynamo.Capacity().Sub(capBefore)
			if os.Getenv("BUDGET_OPS") != "" {
				for op, n := range e.st.DynamoCallsByOp() {
					if n != byOp[op] {
						t.Logf("%s: %d", op, n-byOp[op])
					}
				}
			}
			if r.Status >= 300 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if got := int(e.st.DynamoCalls() - before); got != row.want {
				t.Fatalf("%d DynamoDB requests, budget %d", got, row.want)
			}
			if used.Unmeasured > 0 { // a DynamoDB (DYNAMODB_ENDPOINT) that refuses the proxy's own reads
				t.Logf("capacity not measured for %d requests", used.Unmeasured)
			} else if used.Read() != row.rcu || used.Write() != row.wcu {
				t.Fatalf("%s RCU and %s WCU (table %s/%s, indexes %v), budget %s and %s", units(used.Read()), units(used.Write()),
					units(used.Table.Read), units(used.Table.Write), used.Indexes, units(row.rcu), units(row.wcu))
			}
		})
	}
	checkReadmeTable(t, rows)
}

// checkReadmeTable keeps README.md's access-pattern table equal to the
// measured budgets; -update rewrites it.
func checkReadmeTable(t *testing.T, rows []budget) {
	t.Helper()
	var b strings.Builder
	b.WriteString("| Endpoint | DynamoDB operations | Requests | RCU | WCU |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %d | %s | %s |\n", r.endpoint, r.ops, r.want, units(r.rcu), units(r.wcu))
	}
	b.WriteString("\n" + dollarsLine(rows) + "\n")
	table := b.String()
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- access-patterns:begin -->\n", "<!-- access-patterns:end -->"
	i, j := strings.Index(string(readme), begin), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", begin, end)
	}
	current := string(readme[i+len(begin) : j])
	if current == table {
		return
	}
	if *updateReadme {
		out := string(readme[:i+len(begin)]) + table + string(readme[j:])
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's access-pattern table is stale; run: go test ./shared/api -run TestRequestBudget -update")
}

// units formats capacity units: 0.5, 2, 12.5.
func units(u float64) string { return strconv.FormatFloat(u, 'f', -1, 64) }

// On-demand throughput prices in us-east-1, in dollars per million request
// units (https://aws.amazon.com/dynamodb/pricing/on-demand/, since the
// 50% reduction of November 2024). A read request unit is a strongly
// consistent 4 KB read, as a read capacity unit; a write request unit a
// 1 KB write.
const dollarsPerMillionReads, dollarsPerMillionWrites = 0.125, 0.625

// mostCalled are the rows of the endpoints called most: the client
// portal's home (every page view checks the session and lists the user's
// projects), the staff's two lists, and the sign-in.
var mostCalled = []string{
	"GET /v1/me/projects (a user on one project, built-in profile)",
	"GET /v1/me",
	"GET /v1/companies",
	"GET /v1/users",
	"POST /v1/portal/login",
}

// dollarsLine is the README's line of what a million requests of each of
// the most called endpoints cost at on-demand prices.
func dollarsLine(rows []budget) string {
	var parts []string
	for _, name := range mostCalled {
		for _, r := range rows {
			if r.endpoint == name {
				usd := r.rcu*dollarsPerMillionReads + r.wcu*dollarsPerMillionWrites
				parts = append(parts, fmt.Sprintf("`%s` $%.4g", strings.SplitN(name, " (", 2)[0], usd))
			}
		}
	}
	return fmt.Sprintf("Dollars per million requests at on-demand prices (us-east-1: $%v per million read request units, $%v per million write request units): %s.",
		dollarsPerMillionReads, dollarsPerMillionWrites, strings.Join(parts, ", "))
}
