package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// Profiles and roles are both permission sets, stored alike: one item each
// with the exact count of users holding it (changed in the same transaction
// as every user write that gives or takes it, so "in use" is a condition,
// not a search), listed by name on GSI1, names unique per portal through a
// guard. setKind says which.
type setKind struct {
	typ    string // the item's type
	infix  string // of the item's key
	names  string // infix of the name guard's key
	list   string // suffix of the GSI1 partition
	idAttr string // the guard's attribute naming its set; the user field
	what   string // in messages: "profile", "role"
}

var (
	profileSets = setKind{typ: "profile", infix: "#PROFILE#", names: "#PROFNAME#", list: "#PROFILES", idAttr: "profileId", what: "profile"}
	roleSets    = setKind{typ: "role", infix: "#ROLE#", names: "#ROLENAME#", list: "#ROLES", idAttr: "roleId", what: "role"}
)

func (k setKind) pk(pid, id string) string          { return portalPrefix(pid) + k.infix + id }
func (k setKind) namePK(pid, nameKey string) string { return portalPrefix(pid) + k.names + nameKey }
func (k setKind) listPK(pid string) string          { return portalPrefix(pid) + k.list }

func profilePK(pid, id string) string { return profileSets.pk(pid, id) }
func rolePK(pid, id string) string    { return roleSets.pk(pid, id) }

// permSet is a profile or a role as stored.
type permSet struct {
	ID, Name             string
	Permissions          clientele.Permissions
	UserCount, Version   int
	CreatedAt, UpdatedAt time.Time
}

type permSetItem struct {
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

func (k setKind) item(pid string, p permSet) map[string]types.AttributeValue {
	perms, _ := json.Marshal(p.Permissions)
	item, _ := attributevalue.MarshalMap(permSetItem{PK: k.pk(pid, p.ID), SK: skMeta, Type: k.typ,
		GSI1PK: k.listPK(pid), GSI1SK: clientele.NameKey(p.Name) + "#" + p.ID,
		ID: p.ID, Name: p.Name, Permissions: string(perms), UserCount: p.UserCount,
		CreatedAt: fmtTime(p.CreatedAt), UpdatedAt: fmtTime(p.UpdatedAt), Version: p.Version})
	return item
}

func permSetOf(item map[string]types.AttributeValue) (permSet, error) {
	var it permSetItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return permSet{}, fmt.Errorf("decode %s: %w", it.Type, err)
	}
	p := permSet{ID: it.ID, Name: it.Name, UserCount: it.UserCount, Version: it.Version, Permissions: clientele.Permissions{},
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt)}
	if err := json.Unmarshal([]byte(it.Permissions), &p.Permissions); err != nil {
		return p, fmt.Errorf("decode %s permissions: %w", it.Type, err)
	}
	if p.Permissions == nil {
		p.Permissions = clientele.Permissions{}
	}
	return p, nil
}

func (k setKind) notFound() error { return clientele.Errorf(clientele.NotFound, "no such %s", k.what) }

func (s *Store) setGuard(k setKind, pid string, p permSet) txItem {
	return s.nameGuard(k.namePK(pid, clientele.NameKey(p.Name)), k.typ+"_name", k.idAttr, p.ID, "a "+k.what, p.Name)
}

// createSet writes a new set and reserves its name.
func (s *Store) createSet(ctx context.Context, k setKind, pid string, p permSet, rec *idempotency.Record) error {
	return s.transact(ctx, []txItem{
		s.put(k.item(pid, p), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "%s id collision; retry", k.what))),
		s.setGuard(k, pid, p),
	}, rec)
}

// getSet reads a set; one strongly consistent GetItem.
func (s *Store) getSet(ctx context.Context, k setKind, pid, id string) (permSet, error) {
	item, err := s.getItem(ctx, k.pk(pid, id), skMeta)
	if err != nil || item == nil {
		return permSet{}, orNotFound(err, k.notFound())
	}
	return permSetOf(item)
}

// listSets returns a page of the portal's sets by name, each as conv makes it.
func listSets[T any](ctx context.Context, s *Store, k setKind, pid string, limit int, start map[string]string, conv func(permSet) T) (Page[T], error) {
	in := &dynamodb.QueryInput{IndexName: aws.String(gsi1), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(k.listPK(pid))}}
	return query(ctx, s, in, start, func(item map[string]types.AttributeValue) (T, error) {
		p, err := permSetOf(item)
		return conv(p), err
	})
}

// updateSet reads a set, lets change compute the next one and writes it at
// the version read (SET of its own fields only: the user count is the user
// writes'); a rename moves the name guard in the same transaction.
func (s *Store) updateSet(ctx context.Context, k setKind, pid, id string, change func(permSet) (permSet, bool, error)) (permSet, error) {
	return retry(ctx, func() (permSet, error) {
		cur, err := s.getSet(ctx, k, pid, id)
		if err != nil {
			return cur, err
		}
		next, changed, err := change(cur)
		if err != nil || !changed {
			return cur, err
		}
		next.Version, next.UpdatedAt = cur.Version+1, s.Now()
		perms, _ := json.Marshal(next.Permissions)
		items := []txItem{s.update(key(k.pk(pid, id), skMeta),
			"SET #name = :name, #perms = :perms, GSI1SK = :sk, updatedAt = :now, version = :next", "version = :v",
			map[string]string{"#name": "name", "#perms": "permissions"}, map[string]types.AttributeValue{":name": str(next.Name), ":perms": str(string(perms)),
				":sk": str(clientele.NameKey(next.Name) + "#" + id), ":now": str(fmtTime(next.UpdatedAt)), ":next": num(next.Version), ":v": num(cur.Version)},
			failWith(errRetry))}
		if clientele.NameKey(next.Name) != clientele.NameKey(cur.Name) {
			items = append(items, s.setGuard(k, pid, next), s.dropGuard(k.namePK(pid, clientele.NameKey(cur.Name))))
		}
		return next, s.transact(ctx, items, nil)
	})
}

// deleteSet deletes a set no user holds: the condition on its user count
// decides against a concurrent assignment, which in turn needs the set to
// exist, so of the two one fails. inUse words the refusal.
func (s *Store) deleteSet(ctx context.Context, k setKind, pid, id string, check func(permSet) error, inUse string) error {
	_, err := retry(ctx, func() (struct{}, error) {
		cur, err := s.getSet(ctx, k, pid, id)
		if err != nil {
			return struct{}{}, err
		}
		if err := check(cur); err != nil {
			return struct{}{}, err
		}
		if cur.UserCount > 0 {
			return struct{}{}, clientele.InUse{Message: inUse, UserCount: cur.UserCount}
		}
		return struct{}{}, s.transact(ctx, []txItem{
			s.del(key(k.pk(pid, id), skMeta), "version = :v AND userCount = :zero",
				map[string]types.AttributeValue{":v": num(cur.Version), ":zero": num(0)}, failWith(errRetry)),
			s.dropGuard(k.namePK(pid, clientele.NameKey(cur.Name))),
		}, nil)
	})
	return err
}

// setCount moves a user onto (+1) or off (-1) set id in the user's
// transaction; onto one, it must exist (else 400 on field, saying missing).
func (s *Store) setCount(k setKind, pid, id string, delta int, field, missing string) txItem {
	return s.update(key(k.pk(pid, id), skMeta), "ADD userCount :d", "attribute_exists(PK)", nil,
		map[string]types.AttributeValue{":d": num(delta)},
		failWith(&clientele.Error{Code: clientele.Invalid, Message: "the request has invalid fields",
			Fields: []clientele.FieldError{{Field: field, Message: missing}}}))
}
