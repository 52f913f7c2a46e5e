package clientele

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Modules and actions of project permissions.
var (
	Modules = []string{"tasks", "issues", "milestones", "timesheets", "documents", "discussions"}
	Actions = []string{"view", "create", "edit", "delete", "comment"}
)

// Permissions maps a module to the actions allowed in it. A module without
// actions is absent; actions are kept in the order of Actions.
type Permissions map[string][]string

// ViewOnly is the built-in client profile's permission set.
func ViewOnly() Permissions {
	p := Permissions{}
	for _, m := range Modules {
		p[m] = []string{"view"}
	}
	return p
}

// Allowed reports whether p lets its holder do action in module: the one
// function every permission check goes through.
func (p Permissions) Allowed(module, action string) bool {
	return slices.Contains(p[module], action)
}

// Check validates p as given in a request at field: every module and action
// known (400 naming the unknown one), and returns it normalized (sorted
// actions, no duplicates, no empty modules).
func (p Permissions) Check(field string, f *Fields) Permissions {
	out := Permissions{}
	mods := make([]string, 0, len(p))
	for m := range p {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		if !slices.Contains(Modules, m) {
			f.Add(field+"."+m, "unknown module %q; modules are %v", m, Modules)
			continue
		}
		for i, a := range p[m] {
			if !slices.Contains(Actions, a) {
				f.Add(fmt.Sprintf("%s.%s[%d]", field, m, i), "unknown action %q; actions are %v", a, Actions)
			}
		}
		var acts []string
		for _, a := range Actions {
			if slices.Contains(p[m], a) {
				acts = append(acts, a)
			}
		}
		if len(acts) > 0 {
			out[m] = acts
		}
	}
	return out
}

// Diff is what next allows beyond base (added) and what it takes away
// (removed), each as a permission set.
func Diff(base, next Permissions) (added, removed Permissions) {
	added, removed = Permissions{}, Permissions{}
	for _, m := range Modules {
		for _, a := range Actions {
			switch in, was := next.Allowed(m, a), base.Allowed(m, a); {
			case in && !was:
				added[m] = append(added[m], a)
			case was && !in:
				removed[m] = append(removed[m], a)
			}
		}
	}
	return added, removed
}

// Equal reports whether p and q allow the same.
func (p Permissions) Equal(q Permissions) bool {
	a, r := Diff(p, q)
	return len(a) == 0 && len(r) == 0
}

// MarshalJSON writes an empty set as {} rather than null.
func (p Permissions) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string][]string(p))
}

// Effective is what a user may do in a project: their customization there,
// or else their base set (Base: the profile's united with the roles').
func Effective(base Permissions, up UserProject) Permissions {
	if up.Permissions != nil {
		return up.Permissions
	}
	return base
}

// ValidProfileID accepts the built-in profile's id and profile ids.
func ValidProfileID(id string) bool { return id == BuiltInProfile || ValidID(id) }

// Profile is a named permission set users are given.
type Profile struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Permissions Permissions `json:"permissions"`
	BuiltIn     bool        `json:"builtIn"`
	UserCount   int         `json:"userCount"`
	CreatedAt   *time.Time  `json:"createdAt"`
	UpdatedAt   *time.Time  `json:"updatedAt"`
	Version     int         `json:"version"`
}

// BuiltInClientProfile is the view-only profile every portal has.
func BuiltInClientProfile() Profile {
	return Profile{ID: BuiltInProfile, Name: "Client", Permissions: ViewOnly(), BuiltIn: true}
}

// ProfileInput is the body of POST /v1/profiles.
type ProfileInput struct {
	Name        *string     `json:"name"`
	Permissions Permissions `json:"permissions"`
}

// NewProfile validates in and returns the profile it describes.
func NewProfile(in ProfileInput, id string, now time.Time) (Profile, error) {
	var f Fields
	p := Profile{ID: id, CreatedAt: &now, UpdatedAt: &now, Version: 1}
	p.Name, p.Permissions = newSet(in.Name, in.Permissions, &f)
	return p, f.Err()
}

// ProfilePatch is the body of PATCH /v1/profiles/{profileId}.
type ProfilePatch struct {
	Name        Optional[string]      `json:"name"`
	Permissions Optional[Permissions] `json:"permissions"`
}

// Apply validates the patch and returns the patched profile and whether
// it changed; a profile may not take the built-in one's name.
func (p ProfilePatch) Apply(cur Profile) (Profile, bool, error) {
	var f Fields
	next := cur
	next.Name, next.Permissions = patchSet(cur.Name, cur.Permissions, p.Name, p.Permissions, &f)
	if p.Name.Set && len(f) == 0 && NameKey(next.Name) == NameKey(BuiltInClientProfile().Name) {
		f.Add("name", "is the built-in profile's name")
	}
	return next, next.Name != cur.Name || !next.Permissions.Equal(cur.Permissions), f.Err()
}

// Profile history actions are those of the users they affect; a
// customization is recorded on its user.
const (
	UserPermissionsCustomized = "user.permissions_customized"
	UserPermissionsReset      = "user.permissions_reset"
)
