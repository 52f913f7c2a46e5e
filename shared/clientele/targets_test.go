package clientele

import (
	"errors"
	"slices"
	"testing"
)

func TestCheckAddTargets(t *testing.T) {
	company := &Company{ID: "c"}
	hourly := &Project{ID: "h", Billing: StaffHours, CompanyIDs: []string{"c"}}
	fixed := &Project{ID: "f", Billing: Fixed, CompanyIDs: []string{"c"}}
	other := &Project{ID: "o", Billing: StaffHours, CompanyIDs: []string{"x"}}
	rate := 50.0
	for _, tt := range []struct {
		name  string
		t     AddTargets
		roles []string
		rate  *float64
		want  []string // "field: message" of each field error, in order
	}{
		{"all there", AddTargets{Company: company, Projects: []*Project{hourly, fixed}, Roles: []bool{true}}, []string{"r"}, nil, nil},
		{"rate on staff hours", AddTargets{Company: company, Projects: []*Project{hourly}}, nil, &rate, nil},
		{"no company (and nothing else said)", AddTargets{Projects: []*Project{nil}}, nil, nil, []string{"companyId: no such company"}},
		{"unknown role", AddTargets{Company: company, Roles: []bool{true, false}}, []string{"r1", "r2"}, nil, []string{"roleIds: no such role: r2"}},
		{"missing and foreign projects", AddTargets{Company: company, Projects: []*Project{hourly, nil, other}}, nil, nil,
			[]string{"projectIds[1]: no such project", "projectIds[2]: the company is not on this project; add it to the project first"}},
		{"rate on a fixed project", AddTargets{Company: company, Projects: []*Project{hourly, fixed}}, nil, &rate,
			[]string{"projectIds[1]: the project bills fixed: ratePerHour applies only to staff_hours projects"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAddTargets("c", nil, tt.roles, tt.t, tt.rate, nil)
			if got := fieldErrors(t, err); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnknown(t *testing.T) {
	found := map[string]Company{"a": {ID: "a"}, "b": {ID: "b"}}
	for _, tt := range []struct {
		name string
		ids  []string
		want []string
	}{
		{"none listed", nil, nil},
		{"all there", []string{"b", "a"}, nil},
		{"each unknown entry by its index", []string{"x", "a", "y"}, []string{"companyIds[0]: no such company", "companyIds[2]: no such company"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var f Fields
			Unknown(&f, "companyIds", "company", tt.ids, found)
			err := f.Err()
			if got := fieldErrors(t, err); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// fieldErrors is "field: message" of each field error of err, an Invalid
// error or nil.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Code != Invalid {
		t.Fatalf("got %v, want an Invalid error", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field+": "+f.Message)
	}
	return out
}
