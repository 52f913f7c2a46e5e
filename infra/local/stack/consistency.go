package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// CheckConsistency reads the whole table (a Scan: fine for a test helper,
// never done by the product) and returns every broken invariant:
//   - each live company has exactly its name guard, and each guard a company;
//   - company.projectIds and project.companyIds mirror each other;
//   - a project's primary client is one of its companies;
//   - every history entry belongs to an existing company or user, but a
//     deleted one's tombstone (its *.deleted entry, removed by TTL);
//   - each user has exactly its email guard, and each guard a user;
//   - each user has its company's and projects' list copies, current, and
//     no copy outlives its user or membership;
//   - a company's userCount and a portal's seatsUsed equal a recount;
//   - a profile's userCount equals a recount, every user's profile exists,
//     and profile names have their guards; the same for roles;
//   - a customization names only known modules and actions, and every list
//     copy of a user carries exactly the user's customizations (what
//     customizedPermissions shows in each list);
//   - nothing is left half-deleted.
func (st *Stack) CheckConsistency(ctx context.Context) ([]string, error) {
	return st.check(ctx, false)
}

// CheckConsistencyMidway is CheckConsistency for a table where a cascading
// delete has stopped midway: an entity marked deleting is expected then (a
// retry finishes it), every other invariant must hold.
func (st *Stack) CheckConsistencyMidway(ctx context.Context) ([]string, error) {
	return st.check(ctx, true)
}

func (st *Stack) check(ctx context.Context, midway bool) ([]string, error) {
	companies := map[string]map[string]types.AttributeValue{} // pk -> item
	projects := map[string]map[string]types.AttributeValue{}
	guards := map[string]map[string]types.AttributeValue{}
	users := map[string]map[string]types.AttributeValue{}
	emailGuards := map[string]map[string]types.AttributeValue{}
	portals := map[string]map[string]types.AttributeValue{}
	members := map[string]map[string]types.AttributeValue{} // PK|SK -> company or project copy of a user
	templates := map[string]map[string]types.AttributeValue{}
	profiles := map[string]map[string]types.AttributeValue{}
	profileGuards := map[string]map[string]types.AttributeValue{}
	roles := map[string]map[string]types.AttributeValue{}
	roleGuards := map[string]map[string]types.AttributeValue{}
	templateGuards := map[string]map[string]types.AttributeValue{}
	crmGuards := map[string]map[string]types.AttributeValue{}    // by PK
	signupLinks := map[string]map[string]types.AttributeValue{}  // by the company's PK
	signupTokens := map[string]map[string]types.AttributeValue{} // by PK
	var history []string
	var start map[string]types.AttributeValue
	for {
		out, err := st.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(st.Table), ExclusiveStartKey: start})
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		for _, it := range out.Items {
			pk := sval(it, "PK")
			switch sval(it, "type") {
			case "company":
				companies[pk] = it
			case "project":
				projects[pk] = it
			case "company_name":
				guards[pk] = it
			case "history":
				// A deleted entity's tombstone outlives it, until TTL.
				if _, tomb := it["expiresAt"]; !tomb || !strings.HasSuffix(sval(it, "action"), ".deleted") {
					history = append(history, pk)
				}
			case "user":
				users[pk] = it
			case "user_email":
				emailGuards[pk] = it
			case "portal":
				portals[pk] = it
			case "profile":
				profiles[pk] = it
			case "profile_name":
				profileGuards[pk] = it
			case "role":
				roles[pk] = it
			case "role_name":
				roleGuards[pk] = it
			case "invitation_template":
				templates[pk] = it
			case "template_name":
				templateGuards[pk] = it
			case "crm_account", "crm_contact", "crm_deal":
				crmGuards[pk] = it
			case "signup_link":
				signupLinks[pk] = it
			case "signup_token":
				signupTokens[pk] = it
			case "company_member", "project_member", "user_name":
				members[pk+"|"+sval(it, "SK")] = it
			}
			if sval(it, "SK") == "PORTAL" {
				portals[pk] = it
			}
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	portalOf := func(pk string) string { return strings.SplitN(pk, "#", 3)[1] }
	companyIDs := map[string]bool{} // portal/id
	for pk, c := range companies {
		p, id := portalOf(pk), sval(c, "id")
		companyIDs[p+"/"+id] = true
		if _, ok := c["deleting"]; ok && !midway {
			bad("company %s is left half-deleted", pk)
		}
		g, ok := guards["P#"+p+"#CN#"+sval(c, "nameKey")]
		if !ok || sval(g, "companyId") != id {
			bad("company %s has no name guard", pk)
		}
		for _, prid := range setval(c, "projectIds") {
			pr, ok := projects["P#"+p+"#PR#"+prid]
			if !ok {
				bad("company %s names missing project %s", pk, prid)
			} else if !slices.Contains(setval(pr, "companyIds"), id) {
				bad("company %s names project %s, which does not name it", pk, prid)
			}
		}
	}
	// Invitation templates: each with its name guard, each guard with its
	// template, and a portal's chosen template present.
	checkNamed("template", templates, templateGuards, "#TPL#", "#TPLNAME#", "templateId", portalOf, bad)
	for pk, p := range portals {
		if id := sval(p, "invitationTemplateId"); id != "" && id != "default" {
			if _, ok := templates["P#"+portalOf(pk)+"#TPL#"+id]; !ok {
				bad("portal %s sends with missing template %s", pk, id)
			}
		}
	}
	// Profiles: each with its name guard, each guard with its profile, every
	// user's profile present, and each profile's userCount its recount.
	checkHeld("profile", "is on", "are on", profiles, users, "#PROFILE#", func(u map[string]types.AttributeValue) []string {
		if id := sval(u, "profileId"); id != "" && id != "client" {
			return []string{id}
		}
		return nil
	}, portalOf, bad)
	checkNamed("profile", profiles, profileGuards, "#PROFILE#", "#PROFNAME#", "profileId", portalOf, bad)
	// Roles the same: each held role present, each userCount its recount.
	checkHeld("role", "holds", "hold", roles, users, "#ROLE#", func(u map[string]types.AttributeValue) []string { return setval(u, "roleIds") }, portalOf, bad)
	checkNamed("role", roles, roleGuards, "#ROLE#", "#ROLENAME#", "roleId", portalOf, bad)
	// Customizations (what customizedPermissions shows): only known modules
	// and actions, and every list copy of a user carries exactly the user's,
	// so no list shows a flag the user item does not have.
	for pk, u := range users {
		for prid, raw := range customizations(u) {
			var perms clientele.Permissions
			var f clientele.Fields
			if err := json.Unmarshal([]byte(raw), &perms); err != nil || !perms.Check("p", &f).Equal(perms) || f.Err() != nil {
				bad("user %s has an invalid customization %s in project %s", pk, raw, prid)
			}
		}
	}
	for k, m := range members {
		u, ok := users["P#"+portalOf(k)+"#U#"+sval(m, "id")]
		if ok && !maps.Equal(customizations(m), customizations(u)) {
			bad("list copy %s shows customizations %v, the user has %v", k, customizations(m), customizations(u))
		}
	}
	// The reminder index holds exactly the invited users with a reminder left.
	for pk, u := range users {
		_, indexed := u["GSI5PK"]
		due := sval(u, "status") == "invited" && boolval(u, "portalAccess") && nval(u, "remindersSent") < 3 && sval(u, "remindAt") != ""
		if indexed != due {
			bad("user %s: in the reminder index %v, due a reminder %v", pk, indexed, due)
		}
	}
	for pk, g := range guards {
		p := portalOf(pk)
		if !companyIDs[p+"/"+sval(g, "companyId")] {
			bad("name guard %s points to no company", pk)
		}
	}
	for pk, pr := range projects {
		p, id := portalOf(pk), sval(pr, "id")
		if _, ok := pr["deleting"]; ok && !midway {
			bad("project %s is left half-deleted", pk)
		}
		cids := setval(pr, "companyIds")
		for _, cid := range cids {
			c, ok := companies["P#"+p+"#C#"+cid]
			if !ok {
				bad("project %s names missing company %s", pk, cid)
			} else if !slices.Contains(setval(c, "projectIds"), id) {
				bad("project %s names company %s, which does not name it", pk, cid)
			}
		}
		if primary := sval(pr, "primaryCompanyId"); primary != "" && !slices.Contains(cids, primary) {
			bad("project %s has primary %s that is not one of its companies", pk, primary)
		}
	}
	checkCRMLinks(companies, users, projects, crmGuards, midway, portalOf, bad)
	checkSignupLinks(companies, signupLinks, signupTokens, portalOf, bad)
	for _, pk := range history {
		_, isCompany := companies[pk]
		_, isUser := users[pk]
		if !isCompany && !isUser {
			bad("history under %s has no company or user", pk)
		}
	}
	seats := map[string]int{}    // portal -> users holding a seat
	noAccess := map[string]int{} // portal -> users without portal access, not deactivated
	counts := map[string]int{}   // company pk -> users
	for pk, u := range users {
		p, id := portalOf(pk), sval(u, "id")
		g, ok := emailGuards["P#"+p+"#EMAIL#"+sval(u, "emailKey")]
		if !ok || sval(g, "userId") != id {
			bad("user %s has no email guard", pk)
		}
		cpk := "P#" + p + "#C#" + sval(u, "companyId")
		if _, ok := companies[cpk]; !ok {
			bad("user %s belongs to missing company %s", pk, sval(u, "companyId"))
		}
		counts[cpk]++
		if sval(u, "status") != "deactivated" {
			if b, _ := u["portalAccess"].(*types.AttributeValueMemberBOOL); b != nil && b.Value {
				seats[p]++
			} else {
				noAccess[p]++
			}
		}
	}
	for pk, u := range users {
		p, id, version := portalOf(pk), sval(u, "id"), nval(u, "version")
		named := sval(u, "name") != ""
		want := []string{"P#" + p + "#C#" + sval(u, "companyId") + "|U#" + id}
		if named {
			want = append(want, pk+"|N#P", pk+"|N#C")
		}
		if l, ok := u["projects"].(*types.AttributeValueMemberL); ok {
			for _, e := range l.Value {
				if m, ok := e.(*types.AttributeValueMemberM); ok {
					want = append(want, "P#"+p+"#PR#"+sval(m.Value, "projectId")+"|U#"+id)
					if named {
						want = append(want, pk+"|N#PR#"+sval(m.Value, "projectId"))
					}
				}
			}
		}
		for _, k := range want {
			m, ok := members[k]
			switch {
			case !ok:
				bad("user %s lacks its list copy %s", pk, k)
			case nval(m, "version") != version:
				bad("list copy %s is at version %d, the user at %d", k, nval(m, "version"), version)
			}
			delete(members, k)
		}
	}
	for k := range members {
		bad("list copy %s belongs to no user, or to a project the user left", k)
	}
	for pk, g := range emailGuards {
		if _, ok := users["P#"+portalOf(pk)+"#U#"+sval(g, "userId")]; !ok {
			bad("email guard %s points to no user", pk)
		}
	}
	for pk, c := range companies {
		if got := nval(c, "userCount"); got != counts[pk] {
			bad("company %s counts %d users, has %d", pk, got, counts[pk])
		}
	}
	for pk, p := range portals {
		if got := nval(p, "seatsUsed"); got != seats[portalOf(pk)] {
			bad("portal %s counts %d seats, %d users hold one", pk, got, seats[portalOf(pk)])
		}
		if got := nval(p, "noAccessUsed"); got != noAccess[portalOf(pk)] {
			bad("portal %s counts %d users without portal access, has %d", pk, got, noAccess[portalOf(pk)])
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems), nil
}

// customizations maps project id to the customization (JSON) of a user
// item or copy.
func customizations(it map[string]types.AttributeValue) map[string]string {
	out := map[string]string{}
	if l, ok := it["projects"].(*types.AttributeValueMemberL); ok {
		for _, e := range l.Value {
			if m, ok := e.(*types.AttributeValueMemberM); ok {
				if v, ok := m.Value["permissions"].(*types.AttributeValueMemberS); ok {
					out[sval(m.Value, "projectId")] = v.Value
				}
			}
		}
	}
	return out
}

// checkNamed checks that every item of a kind with a unique name has its
// name guard, and every guard its item (keys P#<portal><infix><id|name key>).
// checkHeld: every set a user holds (held lists its ids) exists, and each
// set's userCount is its recount; the verbs word the findings.
func checkHeld(kind, isOn, areOn string, sets, users map[string]map[string]types.AttributeValue, infix string,
	held func(map[string]types.AttributeValue) []string, portalOf func(string) string, bad func(string, ...any)) {
	holders := map[string]int{}
	for pk, u := range users {
		for _, id := range held(u) {
			spk := "P#" + portalOf(pk) + infix + id
			if _, ok := sets[spk]; !ok {
				bad("user %s %s missing %s %s", pk, isOn, kind, id)
			}
			holders[spk]++
		}
	}
	for pk, set := range sets {
		if n := nval(set, "userCount"); n != holders[pk] {
			bad("%s %s counts %d users, %d %s it", kind, pk, n, holders[pk], areOn)
		}
	}
}

func checkNamed(kind string, items, guards map[string]map[string]types.AttributeValue, itemInfix, guardInfix, idAttr string,
	portalOf func(string) string, bad func(string, ...any)) {
	for pk, it := range items {
		g, ok := guards["P#"+portalOf(pk)+guardInfix+clientele.NameKey(sval(it, "name"))]
		if !ok || sval(g, idAttr) != sval(it, "id") {
			bad("%s %s has no name guard", kind, pk)
		}
	}
	for pk, g := range guards {
		if _, ok := items["P#"+portalOf(pk)+itemInfix+sval(g, idAttr)]; !ok {
			bad("%s name guard %s points to no %s", kind, pk, kind)
		}
	}
}

// checkSignupLinks: every company's sign-up link belongs to a company and
// has its token's lookup item (same link, same company), and every lookup
// item is the current link of its company: a replaced or disabled link
// leaves no token that opens.
func checkSignupLinks(companies, links, tokens map[string]map[string]types.AttributeValue, portalOf func(string) string, bad func(string, ...any)) {
	for pk, l := range links {
		if _, ok := companies[pk]; !ok {
			bad("sign-up link %s belongs to no company", pk)
		}
		tk, ok := tokens["P#"+portalOf(pk)+"#SIGNUP#"+sval(l, "tokenHash")]
		if !ok || sval(tk, "id") != sval(l, "id") || "P#"+portalOf(pk)+"#C#"+sval(tk, "companyId") != pk {
			bad("sign-up link %s has no lookup item of its token", pk)
		}
	}
	for pk, tk := range tokens {
		l, ok := links["P#"+portalOf(pk)+"#C#"+sval(tk, "companyId")]
		if !ok || "P#"+portalOf(pk)+"#SIGNUP#"+sval(l, "tokenHash") != pk {
			bad("sign-up token %s is no company's current link", pk)
		}
	}
}

// checkCRMLinks: every CRM link of a company, user or project has its guard
// naming it, and every guard names an entity linked to its record (midway,
// a half-deleted project may still hold its deals).
func checkCRMLinks(companies, users, projects, guards map[string]map[string]types.AttributeValue, midway bool,
	portalOf func(string) string, bad func(string, ...any)) {
	linked := map[string]string{} // guard PK -> entity id
	link := func(pk, kind, record string) {
		if record != "" {
			linked["P#"+portalOf(pk)+"#CRM"+kind+"#"+record] = strings.SplitN(pk, "#", 4)[3]
		}
	}
	for pk, c := range companies {
		link(pk, "A", sval(c, "crmAccountId"))
	}
	for pk, u := range users {
		link(pk, "C", sval(u, "crmContactId"))
	}
	for pk, pr := range projects {
		for _, d := range setval(pr, "crmDealIds") {
			link(pk, "D", d)
		}
	}
	holders := map[string]string{"crm_account": "companyId", "crm_contact": "userId", "crm_deal": "projectId"}
	for gpk, id := range linked {
		g, ok := guards[gpk]
		if !ok || sval(g, holders[sval(g, "type")]) != id {
			bad("%s links CRM record %s without its guard", id, gpk)
		}
	}
	for gpk, g := range guards {
		if _, ok := linked[gpk]; !ok && !midway {
			bad("CRM guard %s names %s, which is not linked to it", gpk, sval(g, holders[sval(g, "type")]))
		}
	}
}

func boolval(it map[string]types.AttributeValue, name string) bool {
	v, ok := it[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func sval(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func nval(it map[string]types.AttributeValue, name string) int {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.Atoi(v.Value)
		return n
	}
	return 0
}

func setval(it map[string]types.AttributeValue, name string) []string {
	if v, ok := it[name].(*types.AttributeValueMemberSS); ok {
		return v.Value
	}
	return nil
}
