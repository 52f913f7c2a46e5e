package dynamo

import (
	"context"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// Profiles are permission sets (permset.go). The built-in profile has no
// item and no count.

func profileOf(p permSet) clientele.Profile {
	created, updated := p.CreatedAt, p.UpdatedAt
	return clientele.Profile{ID: p.ID, Name: p.Name, Permissions: p.Permissions, UserCount: p.UserCount,
		CreatedAt: &created, UpdatedAt: &updated, Version: p.Version}
}

func setOfProfile(p clientele.Profile) permSet {
	out := permSet{ID: p.ID, Name: p.Name, Permissions: p.Permissions, UserCount: p.UserCount, Version: p.Version}
	if p.CreatedAt != nil {
		out.CreatedAt = *p.CreatedAt
	}
	if p.UpdatedAt != nil {
		out.UpdatedAt = *p.UpdatedAt
	}
	return out
}

// CreateProfile writes a new profile and reserves its name.
func (s *Store) CreateProfile(ctx context.Context, pid string, p clientele.Profile, rec *idempotency.Record) error {
	if clientele.NameKey(p.Name) == clientele.NameKey(clientele.BuiltInClientProfile().Name) {
		return (&clientele.Fields{{Field: "name", Message: "is the built-in profile's name"}}).Err()
	}
	return s.createSet(ctx, profileSets, pid, setOfProfile(p), rec)
}

// GetProfile returns a profile, the built-in one without a read.
func (s *Store) GetProfile(ctx context.Context, pid, id string) (clientele.Profile, error) {
	if id == clientele.BuiltInProfile {
		return clientele.BuiltInClientProfile(), nil
	}
	p, err := s.getSet(ctx, profileSets, pid, id)
	return profileOf(p), err
}

// ListProfiles returns a page of the portal's own profiles by name.
func (s *Store) ListProfiles(ctx context.Context, pid string, limit int, start map[string]string) (Page[clientele.Profile], error) {
	return listSets(ctx, s, profileSets, pid, limit, start, profileOf)
}

// UpdateProfile reads the profile, lets change compute the next one and
// writes it at the version read.
func (s *Store) UpdateProfile(ctx context.Context, pid, id string, change func(cur clientele.Profile) (clientele.Profile, bool, error)) (clientele.Profile, error) {
	p, err := s.updateSet(ctx, profileSets, pid, id, func(cur permSet) (permSet, bool, error) {
		next, changed, err := change(profileOf(cur))
		return setOfProfile(next), changed, err
	})
	return profileOf(p), err
}

// DeleteProfile deletes a profile no user is on.
func (s *Store) DeleteProfile(ctx context.Context, pid, id string, check func(clientele.Profile) error) error {
	return s.deleteSet(ctx, profileSets, pid, id, func(p permSet) error { return check(profileOf(p)) },
		"the profile is in use; move its users to another profile first")
}

// profileCount moves a user onto (+1) or off (-1) a custom profile in the
// user's transaction; onto one, it must exist.
func (s *Store) profileCount(pid, id string, delta int) []txItem {
	if id == "" || id == clientele.BuiltInProfile {
		return nil
	}
	return []txItem{s.setCount(profileSets, pid, id, delta, "profileId", "no such profile")}
}
