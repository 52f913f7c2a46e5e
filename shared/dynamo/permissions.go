package dynamo

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// Effective resolves what user u may do in project prid. The user is in
// hand (a session or a staff read loaded it), so this costs nothing for a
// customization and otherwise the one read of BasePermissions. A user not
// on the project may do nothing there.
func (s *Store) Effective(ctx context.Context, pid string, u clientele.User, prid string) (clientele.Permissions, error) {
	i := slices.IndexFunc(u.Projects, func(up clientele.UserProject) bool { return up.ProjectID == prid })
	if i < 0 {
		return clientele.Permissions{}, nil
	}
	if u.Projects[i].Permissions != nil {
		return u.Projects[i].Permissions, nil
	}
	_, base, err := s.BasePermissions(ctx, pid, u)
	return base, err
}

// BasePermissions reads what user u (in hand) may do where it has no
// customization: its profile's set united with its roles' (clientele.Base),
// the custom profile and the roles in one TransactGetItems, nothing for the
// built-in profile without roles. It returns the profile's set too.
func (s *Store) BasePermissions(ctx context.Context, pid string, u clientele.User) (profile, base clientele.Permissions, err error) {
	keys := basePermissionKeys(pid, u)
	var got []map[string]types.AttributeValue
	if len(keys) > 0 {
		if got, err = s.getItems(ctx, keys...); err != nil {
			return nil, nil, err
		}
	}
	return basePermissionsOf(u, got)
}

// basePermissionKeys are the items base permissions are read from: the
// custom profile first, then the roles.
func basePermissionKeys(pid string, u clientele.User) []map[string]types.AttributeValue {
	var keys []map[string]types.AttributeValue
	if u.ProfileID != clientele.BuiltInProfile {
		keys = append(keys, key(profilePK(pid, u.ProfileID), skMeta))
	}
	for _, id := range u.RoleIDs {
		keys = append(keys, key(rolePK(pid, id), skMeta))
	}
	return keys
}

// basePermissionsOf is the profile's and the base set from the items of
// basePermissionKeys, as read.
func basePermissionsOf(u clientele.User, got []map[string]types.AttributeValue) (profile, base clientele.Permissions, err error) {
	profile = clientele.ViewOnly()
	if u.ProfileID != clientele.BuiltInProfile {
		// A profile with users cannot be deleted; were it missing, the user
		// may do nothing rather than anything.
		profile = clientele.Permissions{}
		if got[0] != nil {
			p, err := permSetOf(got[0])
			if err != nil {
				return nil, nil, err
			}
			profile = p.Permissions
		}
		got = got[1:]
	}
	var roles []clientele.Permissions
	for _, item := range got {
		if item == nil {
			continue // a role with users cannot be deleted: none is missing
		}
		r, err := permSetOf(item)
		if err != nil {
			return nil, nil, err
		}
		roles = append(roles, r.Permissions)
	}
	return profile, clientele.Base(profile, roles), nil
}

// ErrNotMember answers for a user who is not on the project named.
var ErrNotMember = clientele.Errorf(clientele.NotFound, "the user is not on this project")

// SetPermissions customizes user uid's permissions in project prid (perms
// non-nil) or removes the customization (nil), in one transaction with the
// user's copies and a history entry holding the effective set before and
// after. baseOf is the user's base set (BasePermissions), read by the
// caller; check sees the user first. A user not on the project is NotFound.
func (s *Store) SetPermissions(ctx context.Context, pid, prid, uid string, perms clientele.Permissions, baseOf func(clientele.User) (clientele.Permissions, error),
	actor clientele.Actor, check func(clientele.User) error) (clientele.User, error) {
	return s.updateUser(ctx, pid, uid, actor, func(cur clientele.User) (UserChange, error) {
		if err := check(cur); err != nil {
			return UserChange{}, err
		}
		i := slices.IndexFunc(cur.Projects, func(up clientele.UserProject) bool { return up.ProjectID == prid })
		if i < 0 {
			return UserChange{}, ErrNotMember
		}
		base, err := baseOf(cur)
		if err != nil {
			return UserChange{}, err
		}
		next := cur
		next.Projects = slices.Clone(cur.Projects)
		next.Projects[i].Permissions, next.Projects[i].CustomizedPermissions = perms, perms != nil
		before, after := clientele.Effective(base, cur.Projects[i]), clientele.Effective(base, next.Projects[i])
		was, is := cur.Projects[i].Permissions, perms
		if (was == nil) == (is == nil) && (was == nil || was.Equal(is)) {
			return UserChange{}, nil // nothing changes
		}
		action := clientele.UserPermissionsCustomized
		if perms == nil {
			action = clientele.UserPermissionsReset
		}
		return UserChange{Next: next, Action: action, Changes: clientele.Changes{
			"projectId":   {To: prid},
			"permissions": {From: before, To: after},
			"customized":  {From: was != nil, To: is != nil},
		}}, nil
	}, nil)
}

// UserProjects reads the live projects of user u (in hand) and, when one
// of them has no customization, what BasePermissions reads, all in one
// TransactGetItems: u's effective permissions in every project of u's
// cost one request. It returns the projects by id and the base set (nil
// when none was needed).
func (s *Store) UserProjects(ctx context.Context, pid string, u clientele.User) (map[string]clientele.Project, clientele.Permissions, error) {
	projects := map[string]clientele.Project{}
	if len(u.Projects) == 0 {
		return projects, nil, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(u.Projects)+1+len(u.RoleIDs))
	needBase := false
	for _, up := range u.Projects {
		keys = append(keys, key(projectPK(pid, up.ProjectID), skMeta))
		needBase = needBase || up.Permissions == nil
	}
	if needBase {
		keys = append(keys, basePermissionKeys(pid, u)...)
	}
	got, err := s.getItems(ctx, keys...)
	if err != nil {
		return nil, nil, err
	}
	for _, item := range got[:len(u.Projects)] {
		if item == nil {
			continue
		}
		p, deleting, err := projectFromItem(item)
		if err != nil {
			return nil, nil, err
		}
		if !deleting {
			projects[p.ID] = p
		}
	}
	if !needBase {
		return projects, nil, nil
	}
	_, base, err := basePermissionsOf(u, got[len(u.Projects):])
	return projects, base, err
}
