package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	localcrm "github.com/clientele/clientele/infra/local/crm"
)

// connectCRM connects portal demo to the stack's CRM stand-in.
func (e *env) connectCRM() resp {
	e.t.Helper()
	r := e.call("PUT", "/v1/portal/crm", e.owner, e.crmCredentials())
	want(e.t, r, 200)
	return r
}

func (e *env) crmCredentials() map[string]any {
	l := localcrm.Local()
	return map[string]any{"provider": "zoho", "apiDomain": e.st.CRMURL, "accountsUrl": e.st.CRMURL,
		"clientId": l.ClientID, "clientSecret": l.ClientSecret, "refreshToken": l.RefreshToken}
}

// contact is the stand-in's contact of an address or a last name.
func (e *env) contact(key string) localcrm.Contact {
	e.t.Helper()
	for _, c := range e.st.CRM.Describe("").Contacts {
		if c.Email == key || c.LastName == key {
			return c
		}
	}
	e.t.Fatalf("no CRM contact %s", key)
	return localcrm.Contact{}
}

func (e *env) deal(name string) localcrm.Deal {
	e.t.Helper()
	for _, d := range e.st.CRM.Describe("").Deals {
		if d.Name == name {
			return d
		}
	}
	e.t.Fatalf("no CRM deal %s", name)
	return localcrm.Deal{}
}

func (e *env) importContacts(body map[string]any) resp {
	e.t.Helper()
	return e.call("POST", "/v1/crm/imports", e.owner, body)
}

func (e *env) contactIDs(keys ...string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = e.contact(k).ID
	}
	return out
}

// rawItem reads an item of the stack's table as stored.
func (e *env) rawItem(pk, sk string) map[string]types.AttributeValue {
	e.t.Helper()
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.st.DynamoURL),
		Credentials: credentials.NewStaticCredentialsProvider(e.st.DynamoKey, "local", "")})
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.st.Table),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Item
}

func TestCRMConnect(t *testing.T) {
	e := newEnv(t)
	admin, member := e.st.Token("demo", "admin", "a"), e.st.Token("demo", "member", "m")
	want(t, e.call("GET", "/v1/portal/crm", e.owner, nil), 404)

	bad := func(change map[string]any) map[string]any {
		c := e.crmCredentials()
		for k, v := range change {
			c[k] = v
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"wrong secret", bad(map[string]any{"clientSecret": "nope"}), 400, "refreshToken"},
		{"revoked refresh token", bad(map[string]any{"refreshToken": "1000.other"}), 400, "refreshToken"},
		{"not a Zoho data centre", bad(map[string]any{"accountsUrl": "https://accounts.evil.example", "apiDomain": "https://www.zohoapis.com"}), 400, "accountsUrl"},
		{"data centres mixed", bad(map[string]any{"accountsUrl": "https://accounts.zoho.eu", "apiDomain": "https://www.zohoapis.com"}), 400, "apiDomain"},
		{"a path", bad(map[string]any{"apiDomain": e.st.CRMURL + "/crm"}), 400, "apiDomain"},
		{"another provider", bad(map[string]any{"provider": "hubspot"}), 400, "provider"},
		{"no secret", bad(map[string]any{"clientSecret": ""}), 400, "clientSecret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("PUT", "/v1/portal/crm", admin, tc.body)
			want(t, r, tc.status)
			if !strings.Contains(string(r.Body), `"field":"`+tc.field+`"`) {
				t.Errorf("want an error on %s: %s", tc.field, r.Body)
			}
			if strings.Contains(string(r.Body), "local-crm-client-secret") {
				t.Errorf("the answer shows the secret: %s", r.Body)
			}
		})
	}
	want(t, e.call("GET", "/v1/portal/crm", e.owner, nil), 404) // nothing stored by a refusal
	want(t, e.call("PUT", "/v1/portal/crm", member, e.crmCredentials()), 403)

	exchanges := e.st.CRM.TokenExchanges()
	r := e.connectCRM()
	if e.st.CRM.TokenExchanges() != exchanges+1 {
		t.Errorf("the connection was not proved by one token exchange")
	}
	l := localcrm.Local()
	for _, secret := range []string{l.ClientSecret, l.RefreshToken} {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("PUT answers a secret: %s", r.Body)
		}
		// At rest: sealed (KMS), the secret's bytes nowhere in the item.
		if item := e.rawItem("P#demo", "CRM"); item == nil || strings.Contains(fmt.Sprint(item), secret) {
			t.Errorf("the stored connection holds the secret in clear: %v", item)
		}
	}
	if r.String("status") != "connected" || r.String("apiDomain") != e.st.CRMURL {
		t.Errorf("connection: %s", r.Body)
	}
	g := e.call("GET", "/v1/portal/crm", admin, nil)
	want(t, g, 200)
	if strings.Contains(string(g.Body), l.ClientSecret) || g.String("clientId") != l.ClientID {
		t.Errorf("GET: %s", g.Body)
	}
	want(t, e.call("GET", "/v1/portal/crm", member, nil), 403)
	want(t, e.call("GET", "/v1/crm/contacts", member, nil), 403)

	// The CRM down at connect time: 503 with Retry-After, the old
	// connection kept.
	e.st.CRM.Down(true)
	d := e.call("PUT", "/v1/portal/crm", e.owner, e.crmCredentials())
	want(t, d, 503)
	if d.Header.Get("Retry-After") == "" || d.String("type") != "/problems/crm-unavailable" {
		t.Errorf("CRM down: %v %s", d.Header, d.Body)
	}
	e.st.CRM.Down(false)
	want(t, e.call("GET", "/v1/portal/crm", e.owner, nil), 200)

	// Another portal neither sees nor uses this connection.
	want(t, e.call("GET", "/v1/portal/crm", e.st.Token("other", "owner", "o"), nil), 404)
	want(t, e.call("GET", "/v1/crm/contacts", e.st.Token("other", "owner", "o"), nil), 404)

	// Replacing and disconnecting honour If-Match.
	etag := e.call("GET", "/v1/portal/crm", e.owner, nil).Header.Get("ETag")
	want(t, e.call("PUT", "/v1/portal/crm", e.owner, e.crmCredentials(), "If-Match", `"99"`), 412)
	replaced := e.call("PUT", "/v1/portal/crm", e.owner, e.crmCredentials(), "If-Match", etag)
	want(t, replaced, 200)
	if replaced.Header.Get("ETag") == etag {
		t.Errorf("a replaced connection keeps ETag %s", etag)
	}
	want(t, e.call("DELETE", "/v1/portal/crm", e.owner, nil, "If-Match", etag), 412)
	want(t, e.call("DELETE", "/v1/portal/crm", e.owner, nil, "If-Match", replaced.Header.Get("ETag")), 204)
	want(t, e.call("DELETE", "/v1/portal/crm", e.owner, nil), 404)
	want(t, e.call("GET", "/v1/crm/contacts", e.owner, nil), 404)
}

// TestCRMSealedPerPortal: a sealed connection copied onto another portal's
// item does not open there (the encryption context names the portal).
func TestCRMSealedPerPortal(t *testing.T) {
	e := newEnv(t)
	e.connectCRM()
	item := e.rawItem("P#demo", "CRM")
	item["PK"] = &types.AttributeValueMemberS{Value: "P#other"}
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.st.DynamoURL),
		Credentials: credentials.NewStaticCredentialsProvider(e.st.DynamoKey, "local", "")})
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.st.Table), Item: item}); err != nil {
		t.Fatal(err)
	}
	r := e.call("GET", "/v1/crm/contacts", e.st.Token("other", "owner", "o"), nil)
	want(t, r, 409)
	if r.String("type") != "/problems/crm-disconnected" {
		t.Errorf("copied credentials: %s", r.Body)
	}
}

func TestCRMContacts(t *testing.T) {
	e := newEnv(t)
	e.connectCRM()
	all := e.st.CRM.Describe("").Contacts
	// Pages of ours across pages of the CRM's (5 contacts each): every
	// contact once, in order, whatever the limit.
	for _, limit := range []int{1, 4, 5, 7, 50} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []string
			path := fmt.Sprintf("/v1/crm/contacts?limit=%d", limit)
			for range 20 {
				r := e.call("GET", path, e.owner, nil)
				want(t, r, 200)
				items, _ := r.JSON()["items"].([]any)
				if len(items) > limit {
					t.Fatalf("%d items for limit %d", len(items), limit)
				}
				for _, it := range items {
					got = append(got, it.(map[string]any)["crmId"].(string))
				}
				next, _ := r.JSON()["nextCursor"].(string)
				if next == "" {
					break
				}
				path = fmt.Sprintf("/v1/crm/contacts?limit=%d&cursor=%s", limit, next)
			}
			var ids []string
			for _, c := range all {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(got, ids) {
				t.Errorf("listed %v, want %v", got, ids)
			}
		})
	}
	calls := e.st.CRM.Calls()["/crm/v2/Contacts"]
	want(t, e.call("GET", "/v1/crm/contacts?limit=12", e.owner, nil), 200)
	if n := e.st.CRM.Calls()["/crm/v2/Contacts"] - calls; n != 3 {
		t.Errorf("12 contacts in pages of 5 took %d CRM requests, want 3", n)
	}

	// Search, a too short query, a cursor of another query.
	r := e.call("GET", "/v1/crm/contacts?q=globex", e.owner, nil)
	want(t, r, 200)
	if items := r.JSON()["items"].([]any); len(items) != 3 {
		t.Errorf("q=globex: %s", r.Body)
	}
	r = e.call("GET", "/v1/crm/contacts?q=alice@acme.example", e.owner, nil)
	if items := r.JSON()["items"].([]any); len(items) != 1 || items[0].(map[string]any)["email"] != "alice@acme.example" {
		t.Errorf("q=<email>: %s", r.Body)
	}
	want(t, e.call("GET", "/v1/crm/contacts?q=a", e.owner, nil), 400)
	first := e.call("GET", "/v1/crm/contacts?limit=2", e.owner, nil)
	want(t, e.call("GET", "/v1/crm/contacts?q=globex&cursor="+first.String("nextCursor"), e.owner, nil), 400)

	// userId once imported.
	want(t, e.importContacts(map[string]any{"contactIds": e.contactIDs("alice@acme.example")}), 200)
	r = e.call("GET", "/v1/crm/contacts?q=alice@acme.example", e.owner, nil)
	if uid, _ := r.JSON()["items"].([]any)[0].(map[string]any)["userId"].(string); uid == "" {
		t.Errorf("an imported contact has no userId: %s", r.Body)
	}

	// The access token: cached, refreshed once when the CRM stops taking it.
	exchanges := e.st.CRM.TokenExchanges()
	want(t, e.call("GET", "/v1/crm/contacts", e.owner, nil), 200)
	if n := e.st.CRM.TokenExchanges() - exchanges; n != 0 {
		t.Errorf("%d token exchanges with a live token", n)
	}
	e.st.CRM.ExpireTokens()
	want(t, e.call("GET", "/v1/crm/contacts", e.owner, nil), 200)
	if n := e.st.CRM.TokenExchanges() - exchanges; n != 1 {
		t.Errorf("%d token exchanges after the token was refused, want 1", n)
	}
	// Revoked in the CRM: reconnect.
	e.st.CRM.RevokeRefreshToken()
	e.st.CRM.ExpireTokens()
	r = e.call("GET", "/v1/crm/contacts", e.owner, nil)
	want(t, r, 409)
	if r.String("type") != "/problems/crm-disconnected" {
		t.Errorf("revoked: %s", r.Body)
	}
}

func TestCRMImport(t *testing.T) {
	e := newEnv(t)
	e.connectCRM()
	prid := e.createProject("Website relaunch")
	globex := e.createCompany("Globex GmbH") // matched by name, then linked
	e.st.CRM.AddContact(localcrm.Contact{FirstName: "Mia", LastName: "Moss", Email: "not an address", AccountID: e.contact("alice@acme.example").AccountID})
	e.st.CRM.AddContact(localcrm.Contact{FirstName: "Dan", LastName: "Dangling", Email: "dan@gone.example", AccountID: "4150868000000999998"})
	want(t, e.call("POST", "/v1/users", e.owner, map[string]any{"emails": "eva@globex.example", "companyId": globex}), 201)

	ids := append(e.contactIDs("alice@acme.example", "bob@acme.example", "dieter@globex.example", "Fischer", "kim@freelance.example", "eva@globex.example", "Moss", "Dangling"), "4150868000000999999")
	r := e.importContacts(map[string]any{"contactIds": ids, "projectIds": []string{prid}})
	want(t, r, 200)
	res := r.JSON()
	created := res["created"].([]any)
	emails := map[string]map[string]any{}
	for _, u := range created {
		m := u.(map[string]any)
		emails[m["email"].(string)] = m
	}
	for _, a := range []string{"alice@acme.example", "bob@acme.example", "dieter@globex.example", "kim@freelance.example"} {
		u, ok := emails[a]
		if !ok {
			t.Fatalf("%s not created: %s", a, r.Body)
		}
		if crm, _ := u["crm"].(map[string]any); crm["contactId"] != e.contact(a).ID {
			t.Errorf("%s has crm %v", a, u["crm"])
		}
		if u["status"] != "invited" || !u["portalAccess"].(bool) || len(u["projects"].([]any)) != 1 {
			t.Errorf("%s: %v", a, u)
		}
		inviteTokenOf(e, a) // mailed, as POST /v1/users does
	}
	if len(created) != 4 {
		t.Errorf("created %d users, want 4: %s", len(created), r.Body)
	}
	failed := map[string]float64{}
	for _, f := range res["failed"].([]any) {
		failed[f.(map[string]any)["crmId"].(string)] = f.(map[string]any)["status"].(float64)
	}
	if want := map[string]float64{e.contact("Fischer").ID: 400, e.contact("Moss").ID: 400, e.contact("Dangling").ID: 404, "4150868000000999999": 404}; !mapsEqual(failed, want) {
		t.Errorf("failed %v, want %v", failed, want)
	}
	skipped := res["skipped"].([]any)
	if len(skipped) != 1 || skipped[0].(map[string]any)["crmId"] != e.contact("eva@globex.example").ID || skipped[0].(map[string]any)["userId"] == "" {
		t.Errorf("skipped: %v", skipped)
	}

	// Companies: Acme created from its account (website, address, link),
	// Globex linked by name, Kim an individual of her own.
	companies := map[string]map[string]any{}
	cr := e.call("GET", "/v1/companies?limit=200", e.owner, nil)
	for _, c := range cr.JSON()["items"].([]any) {
		companies[c.(map[string]any)["name"].(string)] = c.(map[string]any)
	}
	acme := companies["Acme Corp"]
	if acme == nil || acme["website"] != "https://acme.example" || acme["address"].(map[string]any)["city"] != "San Francisco" ||
		acme["crm"].(map[string]any)["accountId"] != e.contact("alice@acme.example").AccountID || !slices.Contains(strs(acme["projectIds"]), prid) {
		t.Errorf("Acme: %v", acme)
	}
	if g := companies["Globex GmbH"]; g["id"] != globex || g["crm"] == nil {
		t.Errorf("Globex was not linked by name: %v", g)
	}
	if k := companies["Kim Kowalski"]; k == nil || k["type"] != "individual" {
		t.Errorf("Kim's company: %v", k)
	}
	if len(companies) != 3 {
		t.Errorf("companies: %v", cr.Body)
	}
	e.consistent()

	// Re-run: everything imported is skipped, nothing written, no mail.
	mails, users := len(e.st.Mail.Messages()), e.countAll("/v1/users", e.owner)
	again := e.importContacts(map[string]any{"contactIds": ids, "projectIds": []string{prid}})
	want(t, again, 200)
	if n := len(again.JSON()["created"].([]any)); n != 0 || len(again.JSON()["skipped"].([]any)) != 5 {
		t.Errorf("re-run: %s", again.Body)
	}
	if len(e.st.Mail.Messages()) != mails || e.countAll("/v1/users", e.owner) != users {
		t.Errorf("the re-run wrote or mailed")
	}

	// Deleting an imported user frees the contact for another import.
	alice := emails["alice@acme.example"]["id"].(string)
	want(t, e.call("DELETE", "/v1/users/"+alice, e.owner, nil), 204)
	r = e.importContacts(map[string]any{"contactIds": e.contactIDs("alice@acme.example"), "invite": false})
	want(t, r, 200)
	if c := r.JSON()["created"].([]any); len(c) != 1 || c[0].(map[string]any)["portalAccess"] != false {
		t.Errorf("re-import after delete, without invitation: %s", r.Body)
	}
	if len(e.st.Mail.Messages()) != mails {
		t.Errorf("invite false sent mail")
	}
	e.consistent()
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestCRMImportSeatLimit(t *testing.T) {
	e := newEnv(t)
	e.connectCRM()
	want(t, e.call("PATCH", "/v1/portal", e.owner, map[string]any{"clientSeatLimit": 2}), 200)
	r := e.importContacts(map[string]any{"contactIds": e.contactIDs("alice@acme.example", "bob@acme.example", "carol@acme.example", "lopez@acme.example")})
	want(t, r, 200)
	if n := len(r.JSON()["created"].([]any)); n != 2 {
		t.Errorf("created %d past a limit of 2: %s", n, r.Body)
	}
	for _, f := range r.JSON()["failed"].([]any) {
		if f.(map[string]any)["type"] != "/problems/seat-limit" {
			t.Errorf("failed: %v", f)
		}
	}
	if len(r.JSON()["failed"].([]any)) != 2 {
		t.Errorf("failed: %s", r.Body)
	}
	e.consistent()
}

// TestCRMImportUnavailable: the CRM failing at any read (down, rate
// limited, failing midway) is a 503 with Retry-After and nothing written.
func TestCRMImportUnavailable(t *testing.T) {
	e := newEnv(t)
	e.connectCRM()
	ids := e.contactIDs("alice@acme.example", "dieter@globex.example", "grace@initech.example")
	third := ids[2]
	for _, tc := range []struct {
		name   string
		break_ func()
	}{
		{"down", func() { e.st.CRM.Down(true) }},
		{"rate limited", func() { e.st.CRM.RateLimit(1000) }},
		{"the last contact fails", func() {
			e.st.CRM.Fail(func(r *http.Request) (int, string, http.Header, bool) {
				return 500, `{"code":"INTERNAL_ERROR","details":{},"message":"boom","status":"error"}`, nil, strings.HasSuffix(r.URL.Path, third)
			})
		}},
		{"an account fails", func() {
			e.st.CRM.Fail(func(r *http.Request) (int, string, http.Header, bool) {
				return 429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"slow down","status":"error"}`, http.Header{"Retry-After": {"7"}},
					strings.Contains(r.URL.Path, "/Accounts/")
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.break_()
			defer func() { e.st.CRM.Down(false); e.st.CRM.RateLimit(0); e.st.CRM.Fail(nil) }()
			r := e.importContacts(map[string]any{"contactIds": ids})
			want(t, r, 503)
			if r.Header.Get("Retry-After") == "" || r.String("type") != "/problems/crm-unavailable" {
				t.Errorf("%v %s", r.Header, r.Body)
			}
			if n := e.countAll("/v1/users", e.owner) + e.countAll("/v1/companies", e.owner); n != 0 {
				t.Errorf("%d users and companies written", n)
			}
		})
	}
	want(t, e.importContacts(map[string]any{"contactIds": ids}), 200)
	if n := e.countAll("/v1/users", e.owner); n != 3 {
		t.Errorf("%d users after the CRM came back", n)
	}
}

func TestDealConversion(t *testing.T) {
	e := newEnv(t)
	e.connectCRM()
	acme, globex, initech := e.deal("Acme website relaunch"), e.deal("Globex onboarding"), e.deal("Initech support renewal")
	convert := func(id string, body any) resp { return e.call("POST", "/v1/crm/deals/"+id+"/convert", e.owner, body) }

	// A new project named after the deal, its account's company primary.
	r := convert(acme.ID, nil)
	want(t, r, 201)
	p, c := r.JSON()["project"].(map[string]any), r.JSON()["company"].(map[string]any)
	if p["name"] != acme.Name || p["primaryCompanyId"] != c["id"] || p["invoiceable"] != true || c["name"] != "Acme Corp" || r.JSON()["primary"] != true ||
		!slices.Contains(strs(c["projectIds"]), p["id"].(string)) ||
		r.Header.Get("Location") != "/v1/projects/"+p["id"].(string) || !slices.Contains(strs(p["crm"].(map[string]any)["dealIds"]), acme.ID) {
		t.Errorf("new project: %s", r.Body)
	}
	// Twice: 409 naming the project, nothing written.
	again := convert(acme.ID, map[string]any{"name": "Other"})
	want(t, again, 409)
	if again.String("projectId") != p["id"] || again.String("type") != "/problems/deal-converted" {
		t.Errorf("second conversion: %s", again.Body)
	}

	// An existing project with a primary: the company is added, not primary.
	withPrimary := e.createProject("Support", map[string]any{"companyIds": []string{e.createCompany("Hooli")}})
	r = convert(initech.ID, map[string]any{"projectId": withPrimary})
	want(t, r, 201)
	if r.JSON()["primary"] != false || !slices.Contains(strs(r.JSON()["project"].(map[string]any)["companyIds"]), r.JSON()["company"].(map[string]any)["id"].(string)) {
		t.Errorf("into a project with a primary: %s", r.Body)
	}
	// Unknown deal, unknown project, both before any write.
	want(t, convert("4150868000000999999", nil), 404)
	want(t, convert(globex.ID, map[string]any{"projectId": "01JD0Q8F3G5H7K9M1N3P5R7T9V"}), 404)
	want(t, convert(globex.ID, map[string]any{"projectId": withPrimary, "name": "x"}), 400)

	// The CRM down: 503 with Retry-After, no project, no company.
	e.st.CRM.Down(true)
	projects, companies := e.countAll("/v1/projects", e.owner), e.countAll("/v1/companies", e.owner)
	down := convert(globex.ID, nil)
	e.st.CRM.Down(false)
	want(t, down, 503)
	if down.Header.Get("Retry-After") == "" || e.countAll("/v1/projects", e.owner) != projects || e.countAll("/v1/companies", e.owner) != companies {
		t.Errorf("CRM down: %v %s, and something was written", down.Header, down.Body)
	}
	// Into a project its company is already on: the deal is recorded, the
	// company stays primary.
	acmeProject := p["id"].(string)
	other := e.st.CRM.AddDeal(localcrm.Deal{Name: "Acme extras", AccountID: acme.AccountID, Stage: "Qualification"})
	r = convert(other.ID, map[string]any{"projectId": acmeProject})
	want(t, r, 201)
	if r.JSON()["primary"] != true || len(strs(r.JSON()["project"].(map[string]any)["companyIds"])) != 1 ||
		len(strs(r.JSON()["project"].(map[string]any)["crm"].(map[string]any)["dealIds"])) != 2 {
		t.Errorf("a second deal of the same client: %s", r.Body)
	}

	// A deal without an account.
	noAccount := e.st.CRM.AddDeal(localcrm.Deal{Name: "Freelance gig", Stage: "Qualification"})
	want(t, convert(noAccount.ID, nil), 409)

	// Deleting the project frees the deal.
	want(t, e.call("DELETE", "/v1/projects/"+p["id"].(string), e.owner, nil), 204)
	want(t, convert(acme.ID, map[string]any{"name": "Acme relaunch, again", "billing": "staff_hours"}), 201)
	e.consistent()
}

// TestDealConversionsRace: the same deal converted by 8 requests at once
// converts once; 8 deals converted at once into a project without a
// primary client leave it exactly one.
func TestDealConversionsRace(t *testing.T) {
	e := newEnv(t)
	e.connectCRM()
	deal := e.deal("Globex onboarding")
	rs := parallel(8, func(int) resp {
		r, err := e.try("POST", "/v1/crm/deals/"+deal.ID+"/convert", e.owner, nil)
		if err != nil {
			t.Error(err)
		}
		return r
	})
	n201, project := 0, ""
	for _, r := range rs {
		switch r.Status {
		case 201:
			n201++
			project = r.JSON()["project"].(map[string]any)["id"].(string)
		case 409:
		default:
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
	}
	if n201 != 1 {
		t.Fatalf("%d conversions of one deal", n201)
	}
	for _, r := range rs {
		if r.Status == 409 && r.String("projectId") != project {
			t.Errorf("409 names %s, not %s", r.String("projectId"), project)
		}
	}
	if n := e.countAll("/v1/projects", e.owner); n != 1 {
		t.Errorf("%d projects", n)
	}

	target := e.createProject("Shared")
	var deals []string
	for i := range 8 {
		account := e.st.CRM.AddAccount(localcrm.Account{Name: fmt.Sprintf("Client %d", i)})
		deals = append(deals, e.st.CRM.AddDeal(localcrm.Deal{Name: fmt.Sprintf("Deal %d", i), AccountID: account.ID, Stage: "Closed Won"}).ID)
	}
	rs = parallel(8, func(i int) resp {
		r, err := e.try("POST", "/v1/crm/deals/"+deals[i]+"/convert", e.owner, map[string]any{"projectId": target})
		if err != nil {
			t.Error(err)
		}
		return r
	})
	primaries := 0
	for _, r := range rs {
		if r.Status != 201 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if r.JSON()["primary"] == true {
			primaries++
		}
	}
	g := e.call("GET", "/v1/projects/"+target, e.owner, nil)
	if primaries != 1 || len(strs(g.JSON()["companyIds"])) != 8 || g.String("primaryCompanyId") == "" {
		t.Errorf("%d primaries; project %s", primaries, g.Body)
	}
	e.consistent()
}

// TestCRMMemberView: CRM links only for owners and admins, on every route
// that shows users, companies or projects; never in history.
func TestCRMMemberView(t *testing.T) {
	e := newEnv(t)
	e.connectCRM()
	r := e.importContacts(map[string]any{"contactIds": e.contactIDs("alice@acme.example")})
	want(t, r, 200)
	u := r.JSON()["created"].([]any)[0].(map[string]any)
	uid, cid := u["id"].(string), u["companyId"].(string)
	conv := e.call("POST", "/v1/crm/deals/"+e.deal("Acme website relaunch").ID+"/convert", e.owner, nil)
	want(t, conv, 201)
	prid := conv.JSON()["project"].(map[string]any)["id"].(string)

	paths := []string{"/v1/users", "/v1/users/" + uid, "/v1/companies", "/v1/companies/" + cid, "/v1/companies/" + cid + "/users",
		"/v1/projects", "/v1/projects/" + prid}
	member, admin := e.st.Token("demo", "member", "m"), e.st.Token("demo", "admin", "a")
	for _, path := range paths {
		if r := e.call("GET", path, admin, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"crm":`) {
			t.Errorf("admin GET %s: no crm: %s", path, r.Body)
		}
		if r := e.call("GET", path, member, nil); r.Status != 200 || strings.Contains(string(r.Body), `"crm"`) {
			t.Errorf("member GET %s shows crm: %s", path, r.Body)
		}
	}
	for _, path := range []string{"/v1/users/" + uid + "/history", "/v1/companies/" + cid + "/history"} {
		if r := e.call("GET", path, admin, nil); strings.Contains(string(r.Body), e.contact("alice@acme.example").ID) ||
			strings.Contains(string(r.Body), e.contact("alice@acme.example").AccountID) {
			t.Errorf("history carries CRM ids: %s", r.Body)
		}
	}
	// The client user never sees it either.
	acc := e.call("POST", "/v1/invites/"+inviteTokenOf(e, "alice@acme.example")+"/accept", "", map[string]any{"password": "correct horse battery"})
	want(t, acc, 200)
	if strings.Contains(string(acc.Body), `"crm"`) {
		t.Errorf("accept shows crm: %s", acc.Body)
	}
	me := e.call("GET", "/v1/me", acc.String("token"), nil)
	if me.Status != 200 || strings.Contains(string(me.Body), `"crm"`) {
		t.Errorf("GET /v1/me: %s", me.Body)
	}
}
