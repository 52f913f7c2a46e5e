package clientele

import "fmt"

// AddTargets is what a user add names, as read: the company (nil when it
// does not exist or is being deleted), one project per requested id (nil
// likewise), and whether each requested role exists.
type AddTargets struct {
	Company  *Company
	Projects []*Project
	Roles    []bool
}

// CheckAddTargets refuses an add to company cid whose company, projects
// (projectIDs, in Projects' order) or roles (roleIDs) do not exist, whose
// company is not on a project, or whose rate or cost a project does not
// bill (CheckRateBilling, named after the project's entry). The fields are
// the request's: companyId, roleIds, projectIds[i].
func CheckAddTargets(cid string, projectIDs, roleIDs []string, t AddTargets, rate, cost *float64) error {
	var f Fields
	if t.Company == nil {
		f.Add("companyId", "no such company")
		return f.Err()
	}
	for i, found := range t.Roles {
		if !found {
			f.Add("roleIds", "no such role: %s", roleIDs[i])
		}
	}
	for i, p := range t.Projects {
		field := itemField("projectIds", i)
		switch {
		case p == nil:
			f.Add(field, "no such project")
		case !p.HasCompany(cid):
			f.Add(field, "the company is not on this project; add it to the project first")
		default:
			var g Fields
			CheckRateBilling("", p.Billing, rate, cost, &g)
			for _, e := range g { // named after the project, as the other project errors
				f.Add(field, "%s", e.Message)
			}
		}
	}
	return f.Err()
}

// Unknown adds to f an error for each entry of the request's list field,
// ids, that is not a key of found, the entities read: "no such <what>", as
// its own field, field[i].
func Unknown[V any](f *Fields, field, what string, ids []string, found map[string]V) {
	for i, id := range ids {
		if _, ok := found[id]; !ok {
			f.Add(itemField(field, i), "no such %s", what)
		}
	}
}

// itemField names entry i of a list field as problems do: field[i].
func itemField(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }
