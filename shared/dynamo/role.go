package dynamo

import (
	"context"
	"slices"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// Roles are permission sets (permset.go), held by users besides a profile.

func roleOf(p permSet) clientele.Role {
	return clientele.Role{ID: p.ID, Name: p.Name, Permissions: p.Permissions, UserCount: p.UserCount,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Version: p.Version}
}

func setOfRole(r clientele.Role) permSet {
	return permSet{ID: r.ID, Name: r.Name, Permissions: r.Permissions, UserCount: r.UserCount,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

// CreateRole writes a new role and reserves its name.
func (s *Store) CreateRole(ctx context.Context, pid string, r clientele.Role, rec *idempotency.Record) error {
	return s.createSet(ctx, roleSets, pid, setOfRole(r), rec)
}

// GetRole returns a role; one strongly consistent GetItem.
func (s *Store) GetRole(ctx context.Context, pid, id string) (clientele.Role, error) {
	p, err := s.getSet(ctx, roleSets, pid, id)
	return roleOf(p), err
}

// ListRoles returns a page of the portal's roles by name.
func (s *Store) ListRoles(ctx context.Context, pid string, limit int, start map[string]string) (Page[clientele.Role], error) {
	return listSets(ctx, s, roleSets, pid, limit, start, roleOf)
}

// UpdateRole reads the role, lets change compute the next one and writes
// it at the version read.
func (s *Store) UpdateRole(ctx context.Context, pid, id string, change func(cur clientele.Role) (clientele.Role, bool, error)) (clientele.Role, error) {
	p, err := s.updateSet(ctx, roleSets, pid, id, func(cur permSet) (permSet, bool, error) {
		next, changed, err := change(roleOf(cur))
		return setOfRole(next), changed, err
	})
	return roleOf(p), err
}

// DeleteRole deletes a role no user holds: of a delete and a concurrent
// assignment, one fails.
func (s *Store) DeleteRole(ctx context.Context, pid, id string, check func(clientele.Role) error) error {
	return s.deleteSet(ctx, roleSets, pid, id, func(p permSet) error { return check(roleOf(p)) },
		"the role is in use; take it from its users first")
}

// roleCounts moves a user's role counts from prev's roles to next's (nil
// prev for a new user, nil next for a deleted one) in the user's
// transaction; a role given must exist.
func (s *Store) roleCounts(pid string, prev, next *clientele.User) []txItem {
	var before, after []string
	if prev != nil {
		before = prev.RoleIDs
	}
	if next != nil {
		after = next.RoleIDs
	}
	var items []txItem
	for _, id := range after {
		if !slices.Contains(before, id) {
			items = append(items, s.setCount(roleSets, pid, id, 1, "roleIds", "no such role: "+id))
		}
	}
	for _, id := range before {
		if !slices.Contains(after, id) {
			items = append(items, s.setCount(roleSets, pid, id, -1, "roleIds", "no such role: "+id))
		}
	}
	return items
}
