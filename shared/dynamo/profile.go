package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// Profiles: one item each with the exact count of users on it (changed in
// the same transaction as every user write that assigns or unassigns it,
// so "in use" is a condition, not a search); names unique per portal
// through a guard. The built-in profile has no item.
func profilePK(pid, id string) string          { return portalPrefix(pid) + "#PROFILE#" + id }
func profileNamePK(pid, nameKey string) string { return portalPrefix(pid) + "#PROFNAME#" + nameKey }
func profilesGSI1PK(pid string) string         { return portalPrefix(pid) + "#PROFILES" }

type profileItem struct {
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

func profileToItem(pid string, p clientele.Profile) map[string]types.AttributeValue {
	perms, _ := json.Marshal(p.Permissions)
	item, _ := attributevalue.MarshalMap(profileItem{PK: profilePK(pid, p.ID), SK: skMeta, Type: "profile",
		GSI1PK: profilesGSI1PK(pid), GSI1SK: clientele.NameKey(p.Name) + "#" + p.ID,
		ID: p.ID, Name: p.Name, Permissions: string(perms), UserCount: p.UserCount,
		CreatedAt: fmtTime(*p.CreatedAt), UpdatedAt: fmtTime(*p.UpdatedAt), Version: p.Version})
	return item
}

func profileFromItem(item map[string]types.AttributeValue) (clientele.Profile, error) {
	var it profileItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.Profile{}, fmt.Errorf("decode profile: %w", err)
	}
	p := clientele.Profile{ID: it.ID, Name: it.Name, UserCount: it.UserCount, Version: it.Version, Permissions: clientele.Permissions{}}
	if err := json.Unmarshal([]byte(it.Permissions), &p.Permissions); err != nil {
		return p, fmt.Errorf("decode profile permissions: %w", err)
	}
	if p.Permissions == nil {
		p.Permissions = clientele.Permissions{}
	}
	created, updated := parseTime(it.CreatedAt), parseTime(it.UpdatedAt)
	p.CreatedAt, p.UpdatedAt = &created, &updated
	return p, nil
}

func profileNotFound() error { return clientele.Errorf(clientele.NotFound, "no such profile") }

func (s *Store) profileGuard(pid string, p clientele.Profile) txItem {
	return s.nameGuard(profileNamePK(pid, clientele.NameKey(p.Name)), "profile_name", "profileId", p.ID, "a profile", p.Name)
}

// CreateProfile writes a new profile and reserves its name.
func (s *Store) CreateProfile(ctx context.Context, pid string, p clientele.Profile, rec *idempotency.Record) error {
	if clientele.NameKey(p.Name) == clientele.NameKey(clientele.BuiltInClientProfile().Name) {
		return (&clientele.Fields{{Field: "name", Message: "is the built-in profile's name"}}).Err()
	}
	return s.transact(ctx, []txItem{
		s.put(profileToItem(pid, p), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "profile id collision; retry"))),
		s.profileGuard(pid, p),
	}, rec)
}

// GetProfile returns a profile, the built-in one without a read.
func (s *Store) GetProfile(ctx context.Context, pid, id string) (clientele.Profile, error) {
	if id == clientele.BuiltInProfile {
		return clientele.BuiltInClientProfile(), nil
	}
	item, err := s.getItem(ctx, profilePK(pid, id), skMeta)
	if err != nil || item == nil {
		return clientele.Profile{}, orNotFound(err, profileNotFound())
	}
	return profileFromItem(item)
}

// ListProfiles returns a page of the portal's own profiles by name.
func (s *Store) ListProfiles(ctx context.Context, pid string, limit int, start map[string]string) (Page[clientele.Profile], error) {
	in := &dynamodb.QueryInput{IndexName: aws.String(gsi1), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(profilesGSI1PK(pid))}}
	return query(ctx, s, in, start, profileFromItem)
}

// UpdateProfile reads the profile, lets change compute the next one and
// writes it at the version read (the user count is kept by user writes and
// left alone: SET of the profile's own fields only).
func (s *Store) UpdateProfile(ctx context.Context, pid, id string, change func(cur clientele.Profile) (clientele.Profile, bool, error)) (clientele.Profile, error) {
	return retry(ctx, func() (clientele.Profile, error) {
		cur, err := s.GetProfile(ctx, pid, id)
		if err != nil {
			return cur, err
		}
		next, changed, err := change(cur)
		if err != nil || !changed {
			return cur, err
		}
		now := s.Now()
		next.Version, next.UpdatedAt = cur.Version+1, &now
		perms, _ := json.Marshal(next.Permissions)
		items := []txItem{s.update(key(profilePK(pid, id), skMeta),
			"SET #name = :name, #perms = :perms, GSI1SK = :sk, updatedAt = :now, version = :next", "version = :v",
			map[string]string{"#name": "name", "#perms": "permissions"}, map[string]types.AttributeValue{":name": str(next.Name), ":perms": str(string(perms)),
				":sk": str(clientele.NameKey(next.Name) + "#" + id), ":now": str(fmtTime(now)), ":next": num(next.Version), ":v": num(cur.Version)},
			failWith(errRetry))}
		if clientele.NameKey(next.Name) != clientele.NameKey(cur.Name) {
			items = append(items, s.profileGuard(pid, next), s.dropGuard(profileNamePK(pid, clientele.NameKey(cur.Name))))
		}
		return next, s.transact(ctx, items, nil)
	})
}

// DeleteProfile deletes a profile no user is on: the condition on its user
// count decides against a concurrent assignment, which in turn needs the
// profile to exist.
func (s *Store) DeleteProfile(ctx context.Context, pid, id string, check func(clientele.Profile) error) error {
	_, err := retry(ctx, func() (struct{}, error) {
		cur, err := s.GetProfile(ctx, pid, id)
		if err != nil {
			return struct{}{}, err
		}
		if err := check(cur); err != nil {
			return struct{}{}, err
		}
		if cur.UserCount > 0 {
			return struct{}{}, &clientele.Error{Code: clientele.Conflict, Message: "the profile is in use; move its users to another profile first",
				Extra: map[string]any{"userCount": cur.UserCount}}
		}
		// A user assigned meanwhile fails the condition: read again, decide again.
		return struct{}{}, s.transact(ctx, []txItem{
			s.del(key(profilePK(pid, id), skMeta), "version = :v AND userCount = :zero",
				map[string]types.AttributeValue{":v": num(cur.Version), ":zero": num(0)}, failWith(errRetry)),
			s.dropGuard(profileNamePK(pid, clientele.NameKey(cur.Name))),
		}, nil)
	})
	return err
}

// profileCount moves a user onto (+1) or off (-1) a custom profile in the
// user's transaction; onto one, it must exist. The built-in profile has no
// count.
func (s *Store) profileCount(pid, id string, delta int) []txItem {
	if id == "" || id == clientele.BuiltInProfile {
		return nil
	}
	return []txItem{s.update(key(profilePK(pid, id), skMeta), "ADD userCount :d", "attribute_exists(PK)", nil,
		map[string]types.AttributeValue{":d": num(delta)},
		failWith(&clientele.Error{Code: clientele.Invalid, Message: "the request has invalid fields",
			Fields: []clientele.FieldError{{Field: "profileId", Message: "no such profile"}}}))}
}
