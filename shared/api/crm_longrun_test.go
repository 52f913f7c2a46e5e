package api_test

// The long run's CRM actions: the portal's connection to the stack's CRM
// stand-in, its contacts, imports of them and conversions of deals, kept in
// the long run's model (the companies, users and projects they make are
// the model's like any other).

import (
	"fmt"
	"maps"
	"net/url"
	"slices"

	localcrm "github.com/clientele/clientele/infra/local/crm"
)

// lrCRM is the model's CRM side.
type lrCRM struct {
	connected bool
	etag      string            // of the connection, "" when unknown
	accounts  map[string]string // stand-in account id → the company linked to it
	contacts  []*lrContact      // the contacts imported
	deals     map[string]string // converted deal id → its project
	dealsOf   map[string]int    // project id → deals converted into it

	// What the run did, for its log.
	imports, importsLinked, conversions, conversionsInto int
}

// summary is the CRM side of the run, for the log.
func (m *lrCRM) summary() string {
	if m == nil {
		return "no CRM action"
	}
	return fmt.Sprintf("%d contacts imported (%d of a linked account), %d deals converted (%d into an existing project)",
		m.imports, m.importsLinked, m.conversions, m.conversionsInto)
}

// lrContact is a stand-in contact the run imported, and its user.
type lrContact struct {
	id, email string
	user      *lrUser
}

func (l *longRun) crmModel() *lrCRM {
	if l.crm == nil {
		l.crm = &lrCRM{accounts: map[string]string{}, deals: map[string]string{}, dealsOf: map[string]int{}}
	}
	return l.crm
}

// crmConnect connects the portal to the stand-in (PUT /v1/portal/crm).
func (l *longRun) crmConnect() {
	m := l.crmModel()
	r := l.do("PUT", "/v1/portal/crm", l.writer(), l.e.crmCredentials(), 200)
	if r.String("status") != "connected" || r.String("apiDomain") != l.e.st.CRMURL || r.Header.Get("ETag") == "" {
		l.fail("PUT /v1/portal/crm: %v %s", r.Header, r.Body)
	}
	m.connected, m.etag = true, r.Header.Get("ETag")
}

// crmConnected makes sure the portal is connected.
func (l *longRun) crmConnected() {
	if !l.crmModel().connected {
		l.crmConnect()
	}
}

// crmAction reads, replaces or drops and remakes the connection, then
// lists contacts and checks what the model knows of them.
func (l *longRun) crmAction() {
	m := l.crmModel()
	if !m.connected {
		l.crmConnect()
	} else {
		branch := l.rng.IntN(4)
		l.mu.Lock()
		switch { // a route chance left out so far first: the run must exercise each
		case l.covered["DELETE /v1/portal/crm"] == 0:
			branch = 3
		case l.covered["GET /v1/portal/crm"] == 0:
			branch = 0
		}
		l.mu.Unlock()
		switch branch {
		case 0, 1:
			r := l.do("GET", "/v1/portal/crm", l.writer(), nil, 200)
			if r.String("status") != "connected" || r.Header.Get("ETag") != m.etag {
				l.fail("GET /v1/portal/crm: ETag %q (the model %q) %s", r.Header.Get("ETag"), m.etag, r.Body)
			}
			if l.chance(3) { // owners and admins only
				l.do("GET", "/v1/portal/crm", l.memberTok, nil, 403)
			}
		case 2: // replace, If-Match
			if l.chance(3) {
				l.doH([]string{"If-Match", `"999"`}, "PUT", "/v1/portal/crm", l.writer(), l.e.crmCredentials(), 412)
			}
			r := l.doH([]string{"If-Match", m.etag}, "PUT", "/v1/portal/crm", l.writer(), l.e.crmCredentials(), 200)
			if r.Header.Get("ETag") == m.etag {
				l.fail("a replaced connection keeps ETag %s", m.etag)
			}
			m.etag = r.Header.Get("ETag")
		case 3: // disconnect, then connect again
			var h []string
			if l.chance(2) {
				h = []string{"If-Match", m.etag}
			}
			l.doH(h, "DELETE", "/v1/portal/crm", l.writer(), nil, 204)
			m.connected, m.etag = false, ""
			l.do("GET", "/v1/portal/crm", l.writer(), nil, 404)
			l.do("GET", "/v1/crm/contacts", l.writer(), nil, 404)
			l.do("DELETE", "/v1/portal/crm", l.writer(), nil, 404)
			l.crmConnect()
		}
	}
	l.crmContacts()
}

// crmContacts lists contacts: an imported one by its address (its userId
// the model's user, or none once that user is gone), or a first page.
func (l *longRun) crmContacts() {
	m := l.crmModel()
	if l.chance(8) {
		l.do("GET", "/v1/crm/contacts", l.memberTok, nil, 403)
	}
	c, ok := pick(l, m.contacts)
	if !ok || l.chance(4) {
		items := l.do("GET", "/v1/crm/contacts?limit=5", l.writer(), nil, 200).JSON()["items"].([]any)
		if len(items) == 0 || len(items) > 5 {
			l.fail("GET /v1/crm/contacts?limit=5 listed %d contacts", len(items))
		}
		return
	}
	items := l.do("GET", "/v1/crm/contacts?q="+url.QueryEscape(c.email), l.writer(), nil, 200).JSON()["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["crmId"] != c.id {
		l.fail("contacts of %s: %v, want contact %s", c.email, items, c.id)
	}
	uid, _ := items[0].(map[string]any)["userId"].(string)
	want := ""
	if l.userByID(c.user.id) != nil {
		want = c.user.id
	}
	if uid != want {
		l.fail("contact %s has userId %q, the model %q (its user %s deleted: %v)", c.id, uid, want, c.user.id, want == "")
	}
}

// crmAccount is a stand-in account for a new client: a fresh one, or when
// the model has its fill of companies, one linked to a company of the
// model (found by its link, not made again: linked names it). ok false
// when neither.
func (l *longRun) crmAccount() (id, name, linked string, ok bool) {
	m := l.crmModel()
	if len(l.companies) < 14 {
		name := fmt.Sprintf("LR Co %d", l.next()) // as the other companies: listCompanies searches "lr co"
		a := l.e.st.CRM.AddAccount(localcrm.Account{Name: name, Website: fmt.Sprintf("https://crm%d.example", l.seq), City: "Springfield"})
		return a.ID, name, "", true
	}
	var accounts []string
	for acc, cid := range m.accounts {
		if l.companyByID(cid) != nil {
			accounts = append(accounts, acc)
		}
	}
	slices.Sort(accounts)
	acc, ok := pick(l, accounts)
	return acc, "", m.accounts[acc], ok
}

// crmCompany records the company cid that an import or conversion
// answered for account acc: the linked one, else a new one named name.
func (l *longRun) crmCompany(acc, name, linked, cid string) {
	switch {
	case linked != "" && cid != linked:
		l.fail("CRM account %s: company %s, not %s that it is linked to", acc, cid, linked)
	case linked == "" && l.companyByID(cid) != nil:
		l.fail("a new CRM account got company %s of the model", cid)
	case linked == "":
		l.addCompanyModel(cid, name, false, nil)
	}
	l.crmModel().accounts[acc] = cid
}

// crmImport imports a new contact (of a new account, or of a linked one),
// sometimes onto a project, with a profile or without portal access; the
// user is invited as POST /v1/users invites. Sometimes an imported
// contact again: skipped, nothing written.
func (l *longRun) crmImport() {
	m := l.crmModel()
	l.crmConnected()
	if c, ok := pick(l, m.contacts); ok && l.userByID(c.user.id) != nil && l.chance(6) {
		r := l.do("POST", "/v1/crm/imports", l.writer(), map[string]any{"contactIds": []string{c.id}}, 200).JSON()
		skipped := r["skipped"].([]any)
		if len(r["created"].([]any)) != 0 || len(skipped) != 1 || skipped[0].(map[string]any)["userId"] != c.user.id ||
			skipped[0].(map[string]any)["reason"] != "already imported" {
			l.fail("importing contact %s again: %v", c.id, r)
		}
		return
	}
	if len(l.users) >= 60 {
		l.deleteUser()
		return
	}
	acc, accName, linked, ok := l.crmAccount()
	if !ok {
		l.crmContacts()
		return
	}
	email := fmt.Sprintf("lrcrm%d@example.com", l.next())
	contact := l.e.st.CRM.AddContact(localcrm.Contact{FirstName: "LR", LastName: fmt.Sprintf("Contact %d", l.seq), Email: email, AccountID: acc})
	body := map[string]any{"contactIds": []string{contact.ID}}
	var projects []string
	if p, ok := pick(l, l.projects); ok && l.chance(2) {
		projects = []string{p.id}
		body["projectIds"] = projects
	}
	access := !l.chance(6)
	if !access {
		body["invite"] = false
	}
	profile := ""
	if pr, ok := pick(l, l.profiles); ok && l.chance(4) {
		profile = pr
		body["profileId"] = pr
	}
	r := l.do("POST", "/v1/crm/imports", l.writer(), body, 200).JSON()
	created := r["created"].([]any)
	if len(created) != 1 || len(r["skipped"].([]any)) != 0 || len(r["failed"].([]any)) != 0 {
		l.fail("import of contact %s: %v", contact.ID, r)
	}
	body0 := created[0].(map[string]any)
	if crm, _ := body0["crm"].(map[string]any); body0["email"] != email || crm["contactId"] != contact.ID {
		l.fail("the imported user of contact %s: %v", contact.ID, body0)
	}
	cid := body0["companyId"].(string)
	l.crmCompany(acc, accName, linked, cid)
	// The company joins the projects, never as their primary client.
	for _, pid := range projects {
		l.projectByID(pid).companies[cid] = true
	}
	u := l.newUserModel(body0["id"].(string), email, cid, profile, access, projects, true)
	if access {
		l.mails++
	}
	l.checkUser(u, body0)
	m.contacts = append(m.contacts, &lrContact{id: contact.ID, email: email, user: u})
	m.imports++
	if linked != "" {
		m.importsLinked++
	}
	for _, pid := range projects {
		l.checkProject(l.projectByID(pid), l.do("GET", "/v1/projects/"+pid, l.reader(), nil, 200).JSON())
	}
}

// crmConvert converts a new deal (of a new account, or of a linked one)
// into a new project, its company primary, or into a project of the model,
// the company primary only if the project had none. Sometimes a converted
// deal again: 409 naming its project.
func (l *longRun) crmConvert() {
	m := l.crmModel()
	l.crmConnected()
	var converted []string
	for d, pid := range m.deals {
		if l.projectByID(pid) != nil {
			converted = append(converted, d)
		}
	}
	slices.Sort(converted)
	if d, ok := pick(l, converted); ok && l.chance(6) {
		r := l.do("POST", "/v1/crm/deals/"+d+"/convert", l.writer(), nil, 409)
		if r.String("type") != "/problems/deal-converted" || r.String("projectId") != m.deals[d] {
			l.fail("deal %s converted again: %s, want deal-converted naming %s", d, r.Body, m.deals[d])
		}
		return
	}
	acc, accName, linked, ok := l.crmAccount()
	if !ok {
		l.crmContacts()
		return
	}
	name := fmt.Sprintf("LR Project %d", l.next())
	deal := l.e.st.CRM.AddDeal(localcrm.Deal{Name: name, AccountID: acc, Stage: "Closed Won"})
	var body map[string]any
	var into *lrProject
	targets := filter(l.projects, func(p *lrProject) bool { return m.dealsOf[p.id] < 50 })
	if p, ok := pick(l, targets); ok && (len(l.projects) >= 10 || l.chance(3)) {
		into, body = p, map[string]any{"projectId": p.id}
	} else if len(l.projects) >= 10 {
		l.crmContacts()
		return
	} else if l.chance(3) {
		name = fmt.Sprintf("LR Project %d", l.next())
		body = map[string]any{"name": name, "billing": []string{"staff_hours", "fixed", "none"}[l.rng.IntN(3)]}
	}
	r := l.do("POST", "/v1/crm/deals/"+deal.ID+"/convert", l.writer(), body, 201)
	res := r.JSON()
	pb, cb := res["project"].(map[string]any), res["company"].(map[string]any)
	cid, pid := cb["id"].(string), pb["id"].(string)
	if !slices.Contains(strs(pb["crm"].(map[string]any)["dealIds"]), deal.ID) || r.Header.Get("Location") != "/v1/projects/"+pid {
		l.fail("conversion of deal %s: %v %s", deal.ID, r.Header, r.Body)
	}
	l.crmCompany(acc, accName, linked, cid)
	var primary bool
	isNew := into == nil
	if isNew {
		if pb["name"] != name || (body != nil && pb["billing"] != body["billing"]) {
			l.fail("the project of deal %s: %v, asked %v", deal.ID, pb, body)
		}
		into = &lrProject{id: pid, name: name, billing: pb["billing"].(string), companies: map[string]bool{cid: true}, primary: cid}
		l.projects = append(l.projects, into)
		primary = true
	} else {
		if pid != into.id {
			l.fail("deal %s converted into %s, not %s", deal.ID, pid, into.id)
		}
		// A client already: it stays what it was; else it joins, primary
		// when the project had none.
		if into.companies[cid] {
			primary = into.primary == cid
		} else {
			primary = into.primary == ""
			into.companies[cid] = true
			if primary {
				into.primary = cid
			}
		}
	}
	if res["primary"] != primary {
		l.fail("conversion of deal %s into %s: primary %v, the model %v (%s)", deal.ID, pid, res["primary"], primary, r.Body)
	}
	if want := into.primary != ""; pb["invoiceable"] != want {
		// The project as stored is right (checked next); the answer is not.
		l.finding("POST /v1/crm/deals/{dealId}/convert into %s answered a project with a primaryCompanyId and invoiceable %v, want %v (GET shows it right)",
			map[bool]string{true: "a new project", false: "an existing project"}[isNew], pb["invoiceable"], want)
		pb = maps.Clone(pb)
		pb["invoiceable"] = want
	}
	l.checkProject(into, pb)
	l.checkProject(into, l.do("GET", "/v1/projects/"+pid, l.reader(), nil, 200).JSON())
	m.deals[deal.ID] = pid
	m.dealsOf[pid]++
	m.conversions++
	if !isNew {
		m.conversionsInto++
	}
}
