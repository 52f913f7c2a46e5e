package clientele

import (
	"fmt"
	"testing"
)

func TestAllowedMatrix(t *testing.T) {
	custom := Permissions{"tasks": {"view", "create", "edit"}, "issues": {"view", "comment"}, "documents": {"delete"}}
	own := Permissions{"milestones": {"view", "edit"}}
	tests := []struct {
		name  string
		perms Permissions
		allow map[string]bool // "module/action"
	}{
		{"built-in", Effective(ViewOnly(), UserProject{}), map[string]bool{"tasks/view": true, "issues/view": true, "milestones/view": true,
			"timesheets/view": true, "documents/view": true, "discussions/view": true}},
		{"custom profile", Effective(custom, UserProject{}), map[string]bool{"tasks/view": true, "tasks/create": true, "tasks/edit": true,
			"issues/view": true, "issues/comment": true, "documents/delete": true}},
		{"customized", Effective(custom, UserProject{Permissions: own}), map[string]bool{"milestones/view": true, "milestones/edit": true}},
		{"customized to nothing", Effective(custom, UserProject{Permissions: Permissions{}}), map[string]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, m := range Modules {
				for _, a := range Actions {
					if got := tt.perms.Allowed(m, a); got != tt.allow[m+"/"+a] {
						t.Errorf("%s/%s = %v", m, a, got)
					}
				}
			}
		})
	}
}

func TestPermissionsCheckAndDiff(t *testing.T) {
	var f Fields
	got := Permissions{"tasks": {"edit", "view", "edit"}, "wiki": {"view"}, "issues": {"fly"}, "documents": {}}.Check("p", &f)
	if fmt.Sprint(got) != "map[tasks:[view edit]]" {
		t.Fatalf("normalized %v", got)
	}
	if len(f) != 2 || f[0].Field != "p.issues[0]" || f[1].Field != "p.wiki" {
		t.Fatalf("field errors %v", f)
	}
	added, removed := Diff(ViewOnly(), Permissions{"tasks": {"view", "edit"}})
	if fmt.Sprint(added) != "map[tasks:[edit]]" || len(removed) != 5 {
		t.Fatalf("added %v removed %v", added, removed)
	}
	if !ViewOnly().Equal(ViewOnly()) || ViewOnly().Equal(Permissions{}) {
		t.Fatal("Equal")
	}
}
