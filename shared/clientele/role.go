package clientele

import (
	"slices"
	"time"
)

// Role is a portal-defined set of permissions a client user holds beside
// their profile (TeamTracks lets one client hold several).
type Role struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Permissions Permissions `json:"permissions"`
	UserCount   int         `json:"userCount"`
	CreatedAt   time.Time   `json:"createdAt"`
	UpdatedAt   time.Time   `json:"updatedAt"`
	Version     int         `json:"version"`
}

// RoleInput is the body of POST /v1/roles.
type RoleInput struct {
	Name        *string     `json:"name"`
	Permissions Permissions `json:"permissions"`
}

// NewRole validates in and returns the role it describes.
func NewRole(in RoleInput, id string, now time.Time) (Role, error) {
	var f Fields
	r := Role{ID: id, CreatedAt: now, UpdatedAt: now, Version: 1}
	r.Name, r.Permissions = newSet(in.Name, in.Permissions, &f)
	return r, f.Err()
}

// RolePatch is the body of PATCH /v1/roles/{roleId}.
type RolePatch struct {
	Name        Optional[string]      `json:"name"`
	Permissions Optional[Permissions] `json:"permissions"`
}

// Apply validates the patch and returns the patched role and whether it
// changed.
func (p RolePatch) Apply(cur Role) (Role, bool, error) {
	var f Fields
	next := cur
	next.Name, next.Permissions = patchSet(cur.Name, cur.Permissions, p.Name, p.Permissions, &f)
	return next, next.Name != cur.Name || !next.Permissions.Equal(cur.Permissions), f.Err()
}

// newSet checks the name and permissions of a new profile or role.
func newSet(name *string, perms Permissions, f *Fields) (string, Permissions) {
	n := ""
	if name == nil {
		f.Add("name", "is required")
	} else if clean, err := CleanName(*name); err != nil {
		f.Add("name", "%v", err)
	} else {
		n = clean
	}
	if perms == nil {
		f.Add("permissions", "is required (an object of module: [actions])")
	}
	return n, perms.Check("permissions", f)
}

// patchSet applies a patch of a profile's or a role's name and permissions.
func patchSet(name string, perms Permissions, pName Optional[string], pPerms Optional[Permissions], f *Fields) (string, Permissions) {
	if pName.Set {
		if n, err := CleanName(pName.Value); pName.Null || err != nil {
			f.Add("name", "is required and must be a name")
		} else {
			name = n
		}
	}
	if pPerms.Set {
		if pPerms.Null {
			f.Add("permissions", "must not be null (use {} for no permissions)")
		}
		perms = pPerms.Value.Check("permissions", f)
	}
	return name, perms
}

// MaxRolesPerUser is how many roles a client user holds at most.
const MaxRolesPerUser = 10

// CheckRoleIDs validates a user's role ids (field names the field). A
// role costs a user's write one item (its count): with 25 projects and 10
// roles a new user's transaction is 97 items.
func CheckRoleIDs(field string, ids []string, f *Fields) []string {
	out := cleanIDs(field, ids, MaxRolesPerUser, f)
	slices.Sort(out)
	return out
}

// Base is a user's permissions before any customization: their profile's
// set united with every role's.
func Base(profile Permissions, roles []Permissions) Permissions {
	if len(roles) == 0 {
		return profile
	}
	out := Permissions{}
	for _, set := range append([]Permissions{profile}, roles...) {
		for module, actions := range set {
			out[module] = append(out[module], actions...)
		}
	}
	for module, actions := range out {
		slices.Sort(actions)
		out[module] = slices.Compact(actions)
	}
	return out
}
