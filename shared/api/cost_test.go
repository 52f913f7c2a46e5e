package api_test

import (
	"fmt"
	"testing"
)

// TestCostPerHour: costPerHour is accepted beside ratePerHour only on
// staff_hours projects, on every route that sets it, and shows in the user
// and in project user lists.
func TestCostPerHour(t *testing.T) {
	e := newEnv(t)
	c := e.createCompany("Cost Co")
	for i, tc := range []struct {
		billing string
		status  int
	}{{"staff_hours", 0}, {"fixed", 400}, {"none", 400}} {
		t.Run(tc.billing, func(t *testing.T) {
			ok := tc.status == 0
			p := e.createProject("Cost "+tc.billing, map[string]any{"billing": tc.billing, "companyIds": []string{c}})
			// POST /v1/users
			r := e.call("POST", "/v1/users", e.owner, map[string]any{"emails": fmt.Sprintf("cost%d@x.example", i),
				"companyId": c, "projectIds": []string{p}, "costPerHour": 40})
			if !ok {
				want(t, r, 400)
				r = e.call("POST", "/v1/users", e.owner, map[string]any{"emails": fmt.Sprintf("cost%d@x.example", i),
					"companyId": c, "projectIds": []string{p}})
			}
			want(t, r, 201)
			uid := r.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
			// PATCH /v1/users/{id} projectRates
			r = e.call("PATCH", "/v1/users/"+uid, e.owner, map[string]any{"projectRates": []map[string]any{{"projectId": p, "costPerHour": 41}}})
			if !ok {
				want(t, r, 400)
			} else {
				want(t, r, 200)
			}
			// PATCH /v1/projects/{p}/users/{u}
			r = e.call("PATCH", "/v1/projects/"+p+"/users/"+uid, e.owner, map[string]any{"costPerHour": 42})
			if !ok {
				want(t, r, 400)
			} else {
				want(t, r, 200)
			}
			// POST /v1/projects/{id}/users (a second user, not on the project yet)
			r = e.call("POST", "/v1/users", e.owner, map[string]any{"emails": fmt.Sprintf("cost%db@x.example", i), "companyId": c})
			want(t, r, 201)
			uid2 := r.JSON()["created"].([]any)[0].(map[string]any)["id"].(string)
			r = e.call("POST", "/v1/projects/"+p+"/users", e.owner, map[string]any{"userIds": []string{uid2}, "costPerHour": 43})
			if !ok {
				want(t, r, 400)
				return
			}
			want(t, r, 201)
			// bounds
			want(t, e.call("PATCH", "/v1/projects/"+p+"/users/"+uid, e.owner, map[string]any{"costPerHour": -1}), 400)
			u := e.call("GET", "/v1/users/"+uid, e.owner, nil).JSON()
			if got := u["projects"].([]any)[0].(map[string]any)["costPerHour"]; got != 42.0 {
				t.Fatalf("user costPerHour %v, want 42", got)
			}
			list := e.call("GET", "/v1/projects/"+p+"/users", e.owner, nil)
			want(t, list, 200)
			costs := map[float64]bool{}
			for _, it := range list.JSON()["items"].([]any) {
				for _, up := range it.(map[string]any)["projects"].([]any) {
					if v, ok := up.(map[string]any)["costPerHour"].(float64); ok {
						costs[v] = true
					}
				}
			}
			if !costs[42] || !costs[43] {
				t.Fatalf("project list costs %v, want 42 and 43", costs)
			}
		})
	}
	e.consistent()
}
