package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// Roles, like profiles: one item each with the exact count of users
// holding it (changed in the same transaction as every user write that
// gives or takes it, so "in use" is a condition), names unique per portal
// through a guard.
func rolePK(pid, id string) string          { return portalPrefix(pid) + "#ROLE#" + id }
func roleNamePK(pid, nameKey string) string { return portalPrefix(pid) + "#ROLENAME#" + nameKey }
func rolesGSI1PK(pid string) string         { return portalPrefix(pid) + "#ROLES" }

type roleItem struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Type        string `dynamodbav:"type"`
	GSI1PK      string `dynamodbav:"GSI1PK"`
	GSI1SK      string `dynamodbav:"GSI1SK"`
	ID          string `dynamodbav:"id"`
	Name        string `dynamodbav:"name"`
	Permissions string `dynamodbav:"permissions"` // JSON
	UserCount   int    `dynamodbav:"userCount"`
	CreatedAt   string `dynamodbav:"createdAt"`
	UpdatedAt   string `dynamodbav:"updatedAt"`
	Version     int    `dynamodbav:"version"`
}

func roleToItem(pid string, r clientele.Role) map[string]types.AttributeValue {
	perms, _ := json.Marshal(r.Permissions)
	item, _ := attributevalue.MarshalMap(roleItem{PK: rolePK(pid, r.ID), SK: skMeta, Type: "role",
		GSI1PK: rolesGSI1PK(pid), GSI1SK: clientele.NameKey(r.Name) + "#" + r.ID,
		ID: r.ID, Name: r.Name, Permissions: string(perms), UserCount: r.UserCount,
		CreatedAt: fmtTime(r.CreatedAt), UpdatedAt: fmtTime(r.UpdatedAt), Version: r.Version})
	return item
}

func roleFromItem(item map[string]types.AttributeValue) (clientele.Role, error) {
	var it roleItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.Role{}, fmt.Errorf("decode role: %w", err)
	}
	r := clientele.Role{ID: it.ID, Name: it.Name, UserCount: it.UserCount, Version: it.Version, Permissions: clientele.Permissions{},
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt)}
	if err := json.Unmarshal([]byte(it.Permissions), &r.Permissions); err != nil {
		return r, fmt.Errorf("decode role permissions: %w", err)
	}
	if r.Permissions == nil {
		r.Permissions = clientele.Permissions{}
	}
	return r, nil
}

func roleNotFound() error { return clientele.Errorf(clientele.NotFound, "no such role") }

func (s *Store) roleGuard(pid string, r clientele.Role) txItem {
	return s.nameGuard(roleNamePK(pid, clientele.NameKey(r.Name)), "role_name", "roleId", r.ID, "a role", r.Name)
}

// CreateRole writes a new role and reserves its name.
func (s *Store) CreateRole(ctx context.Context, pid string, r clientele.Role, rec *idempotency.Record) error {
	return s.transact(ctx, []txItem{
		s.put(roleToItem(pid, r), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "role id collision; retry"))),
		s.roleGuard(pid, r),
	}, rec)
}

// GetRole returns a role; one strongly consistent GetItem.
func (s *Store) GetRole(ctx context.Context, pid, id string) (clientele.Role, error) {
	item, err := s.getItem(ctx, rolePK(pid, id), skMeta)
	if err != nil || item == nil {
		return clientele.Role{}, orNotFound(err, roleNotFound())
	}
	return roleFromItem(item)
}

// ListRoles returns a page of the portal's roles by name.
func (s *Store) ListRoles(ctx context.Context, pid string, limit int, start map[string]string) (Page[clientele.Role], error) {
	in := &dynamodb.QueryInput{IndexName: aws.String(gsi1), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(rolesGSI1PK(pid))}}
	return query(ctx, s, in, start, roleFromItem)
}

// UpdateRole reads the role, lets change compute the next one and writes
// it at the version read (its user count is the user writes').
func (s *Store) UpdateRole(ctx context.Context, pid, id string, change func(cur clientele.Role) (clientele.Role, bool, error)) (clientele.Role, error) {
	return retry(ctx, func() (clientele.Role, error) {
		cur, err := s.GetRole(ctx, pid, id)
		if err != nil {
			return cur, err
		}
		next, changed, err := change(cur)
		if err != nil || !changed {
			return cur, err
		}
		next.Version, next.UpdatedAt = cur.Version+1, s.Now()
		perms, _ := json.Marshal(next.Permissions)
		items := []txItem{s.update(key(rolePK(pid, id), skMeta),
			"SET #name = :name, #perms = :perms, GSI1SK = :sk, updatedAt = :now, version = :next", "version = :v",
			map[string]string{"#name": "name", "#perms": "permissions"}, map[string]types.AttributeValue{":name": str(next.Name), ":perms": str(string(perms)),
				":sk": str(clientele.NameKey(next.Name) + "#" + id), ":now": str(fmtTime(next.UpdatedAt)), ":next": num(next.Version), ":v": num(cur.Version)},
			failWith(errRetry))}
		if clientele.NameKey(next.Name) != clientele.NameKey(cur.Name) {
			items = append(items, s.roleGuard(pid, next), s.dropGuard(roleNamePK(pid, clientele.NameKey(cur.Name))))
		}
		return next, s.transact(ctx, items, nil)
	})
}

// DeleteRole deletes a role no user holds: the condition on its user
// count decides against a concurrent assignment, which in turn needs the
// role to exist, so of the two one fails.
func (s *Store) DeleteRole(ctx context.Context, pid, id string, check func(clientele.Role) error) error {
	_, err := retry(ctx, func() (struct{}, error) {
		cur, err := s.GetRole(ctx, pid, id)
		if err != nil {
			return struct{}{}, err
		}
		if err := check(cur); err != nil {
			return struct{}{}, err
		}
		if cur.UserCount > 0 {
			return struct{}{}, &clientele.Error{Code: clientele.Conflict, Message: "the role is in use; take it from its users first",
				Extra: map[string]any{"userCount": cur.UserCount}}
		}
		return struct{}{}, s.transact(ctx, []txItem{
			s.del(key(rolePK(pid, id), skMeta), "version = :v AND userCount = :zero",
				map[string]types.AttributeValue{":v": num(cur.Version), ":zero": num(0)}, failWith(errRetry)),
			s.dropGuard(roleNamePK(pid, clientele.NameKey(cur.Name))),
		}, nil)
	})
	return err
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
	count := func(id string, delta int) {
		items = append(items, s.update(key(rolePK(pid, id), skMeta), "ADD userCount :d", "attribute_exists(PK)", nil,
			map[string]types.AttributeValue{":d": num(delta)},
			failWith(&clientele.Error{Code: clientele.Invalid, Message: "the request has invalid fields",
				Fields: []clientele.FieldError{{Field: "roleIds", Message: "no such role: " + id}}})))
	}
	for _, id := range after {
		if !slices.Contains(before, id) {
			count(id, 1)
		}
	}
	for _, id := range before {
		if !slices.Contains(after, id) {
			count(id, -1)
		}
	}
	return items
}

// Roles reads roles by id in one TransactGetItems; missing ones are absent.
func (s *Store) Roles(ctx context.Context, pid string, ids []string) ([]clientele.Role, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(rolePK(pid, id), skMeta)
	}
	got, err := s.getItems(ctx, keys...)
	if err != nil {
		return nil, err
	}
	return rolesOf(got)
}

func rolesOf(items []map[string]types.AttributeValue) ([]clientele.Role, error) {
	var out []clientele.Role
	for _, item := range items {
		if item == nil {
			continue // a role with users cannot be deleted: none is missing
		}
		r, err := roleFromItem(item)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// RolePermissions are the permission sets of roles.
func RolePermissions(roles []clientele.Role) []clientele.Permissions {
	out := make([]clientele.Permissions, len(roles))
	for i, r := range roles {
		out[i] = r.Permissions
	}
	return out
}
