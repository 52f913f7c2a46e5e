package clientele

import (
	"reflect"
	"testing"
)

func TestMemberships(t *testing.T) {
	rate, cost, other := 50.0, 30.0, 70.0
	hourly := Project{ID: "h", Billing: StaffHours, CompanyIDs: []string{"c"}}
	fixed := Project{ID: "f", Billing: Fixed, CompanyIDs: []string{"c"}}
	foreign := Project{ID: "x", Billing: StaffHours, CompanyIDs: []string{"other"}}
	on := User{CompanyID: "c", Projects: []UserProject{{ProjectID: "h", RatePerHour: &rate}, {ProjectID: "f"}}}
	full := User{CompanyID: "c"}
	for range MaxProjectsPerUser {
		full.Projects = append(full.Projects, UserProject{ProjectID: "p"})
	}
	set := func(v float64) Optional[float64] { return Optional[float64]{Set: true, Value: v} }
	for _, tt := range []struct {
		name     string
		do       func() (User, Changes, error)
		code     Code // "" for success
		projects []UserProject
		changes  Changes
	}{
		{"join", func() (User, Changes, error) { return User{CompanyID: "c"}.JoinProject(hourly, &rate, &cost) }, "",
			[]UserProject{{ProjectID: "h", RatePerHour: &rate, CostPerHour: &cost}},
			Changes{"projectId": {To: "h"}, "ratePerHour": {To: &rate}, "costPerHour": {To: &cost}}},
		{"join twice", func() (User, Changes, error) { return on.JoinProject(hourly, nil, nil) }, Conflict, nil, nil},
		{"join a project without the company", func() (User, Changes, error) { return on.JoinProject(foreign, nil, nil) }, Conflict, nil, nil},
		{"join past the limit", func() (User, Changes, error) { return full.JoinProject(hourly, nil, nil) }, Conflict, nil, nil},
		{"leave", func() (User, Changes, error) { return on.LeaveProject(hourly) }, "",
			[]UserProject{{ProjectID: "f"}}, Changes{"projectId": {From: "h"}}},
		{"leave a project not joined", func() (User, Changes, error) { return on.LeaveProject(foreign) }, NotFound, nil, nil},
		{"new rate", func() (User, Changes, error) { return on.SetProjectRates(hourly, set(other), Optional[float64]{}) }, "",
			[]UserProject{{ProjectID: "h", RatePerHour: &other}, {ProjectID: "f"}},
			Changes{"projectId": {From: "h", To: "h"}, "ratePerHour": {From: rate, To: other}}},
		{"rate cleared", func() (User, Changes, error) {
			return on.SetProjectRates(hourly, Optional[float64]{Set: true, Null: true}, Optional[float64]{})
		}, "", []UserProject{{ProjectID: "h"}, {ProjectID: "f"}}, Changes{"projectId": {From: "h", To: "h"}, "ratePerHour": {From: rate, To: nil}}},
		{"rate on a fixed project", func() (User, Changes, error) { return on.SetProjectRates(fixed, set(other), Optional[float64]{}) }, Invalid, nil, nil},
		{"rate where not a member", func() (User, Changes, error) { return on.SetProjectRates(foreign, set(other), Optional[float64]{}) }, NotFound, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(on.Projects)
			next, ch, err := tt.do()
			if tt.code != "" {
				if ErrorCode(err) != tt.code {
					t.Fatalf("error %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(next.Projects, tt.projects) {
				t.Fatalf("projects %+v, want %+v", next.Projects, tt.projects)
			}
			if len(ch) != len(tt.changes) {
				t.Fatalf("changes %v, want %v", ch, tt.changes)
			}
			for k, c := range tt.changes {
				if !reflect.DeepEqual(ch[k], c) {
					t.Fatalf("%s: %#v, want %#v", k, ch[k], c)
				}
			}
			if len(on.Projects) != before || on.Projects[0].RatePerHour != &rate {
				t.Fatal("the user changed in place")
			}
		})
	}
}
