package dynamo

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// UserChange is what a change to a user computes from the current user.
type UserChange struct {
	Next    clientele.User
	Action  string // history action
	Changes clientele.Changes
}

// UpdateUser reads a user, lets change compute the next state (checking
// If-Match and the rules), and writes it in one transaction with
// everything derived from it: the copies in its company's and projects'
// lists, a seat taken or given back when it starts or stops holding one
// (under the limit's condition), the check that its company is still on each
// project it joins, and the history entry. A lost race redoes it all.
func (s *Store) UpdateUser(ctx context.Context, pid, uid string, actor clientele.Actor, change func(cur clientele.User) (UserChange, error)) (clientele.User, error) {
	return s.updateUser(ctx, pid, uid, actor, change, nil)
}

// updateUser is UpdateUser with extra writes that commit with the change.
func (s *Store) updateUser(ctx context.Context, pid, uid string, actor clientele.Actor, change func(cur clientele.User) (UserChange, error), extra func(next clientele.User) []txItem) (clientele.User, error) {
	return s.updateUserFrom(ctx, pid, uid, nil, actor, change, extra)
}

// updateUserFrom is updateUser whose first attempt starts from read, the
// user as the caller just read it (nil: read it): a lost race reads again.
func (s *Store) updateUserFrom(ctx context.Context, pid, uid string, read *clientele.User, actor clientele.Actor, change func(cur clientele.User) (UserChange, error), extra func(next clientele.User) []txItem) (clientele.User, error) {
	return retry(ctx, func() (clientele.User, error) {
		var cur clientele.User
		var err error
		if read != nil {
			cur, read = *read, nil
		} else if cur, err = s.GetUser(ctx, pid, uid); err != nil {
			return cur, err
		}
		c, err := change(cur)
		if err != nil || len(c.Changes) == 0 {
			return cur, err
		}
		next := c.Next
		next.Version, next.UpdatedAt = cur.Version+1, s.Now()
		items := []txItem{s.put(userToItem(pid, next), "version = :v", map[string]types.AttributeValue{":v": num(cur.Version)}, failWith(errRetry))}
		items = append(items, s.copies(pid, &cur, &next)...)
		if next.ProfileID != cur.ProfileID {
			items = append(items, s.profileCount(pid, next.ProfileID, 1)...)
			items = append(items, s.profileCount(pid, cur.ProfileID, -1)...)
		}
		items = append(items, s.roleCounts(pid, &cur, &next)...)
		for _, p := range next.Projects {
			if !hasProject(cur, p.ProjectID) {
				items = append(items, s.projectHasCompany(pid, p.ProjectID, next.CompanyID))
			}
		}
		items = append(items, s.countUsers(pid, &cur, &next)...)
		oldKey, newKey := clientele.EmailKey(cur.Email), clientele.EmailKey(next.Email)
		if oldKey != newKey {
			// The email guard moves with the address: the new one must be
			// free (else 409), the old one is freed.
			guard := key(emailPK(pid, newKey), skGuard)
			guard["type"], guard["userId"] = str("user_email"), str(uid)
			items = append(items, s.put(guard, "attribute_not_exists(PK)", nil, failWith(errEmailTaken)),
				s.del(key(emailPK(pid, oldKey), skGuard), "userId = :u", map[string]types.AttributeValue{":u": str(uid)}, failWith(errRetry)))
		}
		items = append(items, s.history(userPK(pid, uid), actor, c.Action, c.Changes))
		if extra != nil {
			items = append(items, extra(next)...)
		}
		err = s.transact(ctx, items, nil)
		if err == errEmailTaken {
			return cur, s.emailTaken(ctx, pid, newKey)
		}
		return next, err
	})
}

// UpdateUserLink is UpdateUser for a change that may replace the user's
// invitation link (an email change): when the next user's link hash differs
// from the current one, the old link's item is deleted and, for a new link,
// its item written and the re-invite gate closed from now, in the same
// transaction.
func (s *Store) UpdateUserLink(ctx context.Context, pid, uid string, actor clientele.Actor, change func(cur clientele.User) (UserChange, error)) (clientele.User, error) {
	var old *string
	return s.updateUser(ctx, pid, uid, actor, func(cur clientele.User) (UserChange, error) {
		old = cur.InviteTokenHash
		return change(cur)
	}, func(next clientele.User) []txItem {
		if aws.ToString(old) == aws.ToString(next.InviteTokenHash) {
			return nil
		}
		var items []txItem
		if old != nil {
			items = append(items, s.del(key(invitePK(pid, *old), skInvite), "", nil, nil))
		}
		if h := next.InviteTokenHash; h != nil && next.InviteExpiresAt != nil {
			items = append(items, s.inviteLink(pid, *h, next), s.gateReset(pid, uid, *next.LastInvitedAt))
		}
		return items
	})
}

func hasProject(u clientele.User, prid string) bool {
	return slices.ContainsFunc(u.Projects, func(p clientele.UserProject) bool { return p.ProjectID == prid })
}

// DeleteUser deletes a user and everything of theirs: history first (in
// pages, so that a failure leaves a user to retry on rather than orphans),
// then in one transaction the user, the email guard, the list copies, the
// invitation link, the seat and the company's count. check sees the user
// first (If-Match); it returns the user as it was.
func (s *Store) DeleteUser(ctx context.Context, pid, uid string, actor clientele.Actor, check func(clientele.User) error) (clientele.User, error) {
	u, err := s.GetUser(ctx, pid, uid)
	if err != nil {
		return u, err
	}
	if err := check(u); err != nil {
		return u, err
	}
	if err := s.deleteHistory(ctx, userPK(pid, uid)); err != nil {
		return u, err
	}
	return retry(ctx, func() (clientele.User, error) {
		u, err := s.GetUser(ctx, pid, uid)
		if err != nil {
			return u, err
		}
		return u, s.transact(ctx, s.userDeletes(pid, u, actor), nil)
	})
}

// userDeletes are the writes that remove user u (read at its version).
func (s *Store) userDeletes(pid string, u clientele.User, actor clientele.Actor) []txItem {
	gone := clientele.Changes{}
	gone.Record("email", u.Email, nil)
	gone.Record("companyId", u.CompanyID, nil)
	gone.Record("status", u.Status, nil)
	items := []txItem{
		s.tombstone(userPK(pid, u.ID), actor, clientele.UserDeleted, gone),
		s.del(key(userPK(pid, u.ID), skMeta), "version = :v", map[string]types.AttributeValue{":v": num(u.Version)}, failWith(errRetry)),
		s.del(key(emailPK(pid, clientele.EmailKey(u.Email)), skGuard), "", nil, nil),
		s.del(key(userPK(pid, u.ID), skCredential), "", nil, nil),
		s.del(key(gatePK(pid, u.ID), skGate), "", nil, nil),
		// The company may be mid-delete itself: count without conditions.
		s.update(key(companyPK(pid, u.CompanyID), skMeta), "ADD userCount :minus", "attribute_exists(PK)", nil,
			map[string]types.AttributeValue{":minus": num(-1)}, failWith(errRetry)),
	}
	items = append(items, s.copies(pid, &u, nil)...)
	// A profile or role with users cannot be deleted, so it is there to count down.
	items = append(items, s.profileCount(pid, u.ProfileID, -1)...)
	items = append(items, s.roleCounts(pid, &u, nil)...)
	if u.InviteTokenHash != nil {
		items = append(items, s.del(key(invitePK(pid, *u.InviteTokenHash), skInvite), "", nil, nil))
	}
	if id := crmContactOf(u.CRM); id != "" {
		items = append(items, s.crmUnguard(pid, CRMContact, id)) // the contact can be imported again
	}
	items = append(items, s.countUsers(pid, &u, nil)...)
	return items
}

// ReadProjects reads projects by id in one TransactGetItems; missing or
// half-deleted ones are absent from the map.
func (s *Store) ReadProjects(ctx context.Context, pid string, ids []string) (map[string]clientele.Project, error) {
	out := map[string]clientele.Project{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(projectPK(pid, id), skMeta)
	}
	got, err := s.getItems(ctx, keys...)
	if err != nil {
		return nil, err
	}
	for _, item := range got {
		if item == nil {
			continue
		}
		p, deleting, err := projectFromItem(item)
		if err != nil {
			return nil, err
		}
		if !deleting {
			out[p.ID] = p
		}
	}
	return out, nil
}

// memberPage returns up to limit users with a copy in partition pk (a
// company's or project's), as stored there; a step of a cascade.
func (s *Store) memberPage(ctx context.Context, pk string, limit int, start map[string]string) (Page[clientele.User], error) {
	return query(ctx, s, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :u)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":u": str(skMember)},
		Limit:                     aws.Int32(int32(limit)),
	}, start, userFromItem)
}

// leaveProject takes user uid off project prid (nothing if not on it).
func (s *Store) leaveProject(ctx context.Context, pid, uid, prid string, actor clientele.Actor) error {
	_, err := s.UpdateUser(ctx, pid, uid, actor, func(cur clientele.User) (UserChange, error) {
		next := cur
		next.Projects = slices.DeleteFunc(slices.Clone(cur.Projects), func(p clientele.UserProject) bool { return p.ProjectID == prid })
		ch := clientele.Changes{}
		if len(next.Projects) != len(cur.Projects) {
			ch["projectId"] = clientele.Change{From: prid}
		}
		return UserChange{Next: next, Action: clientele.UserProjectRemoved, Changes: ch}, nil
	})
	if clientele.ErrorCode(err) == clientele.NotFound {
		return nil // deleted meanwhile
	}
	return err
}

// sweepProject takes the users of company cid (every user when cid is "")
// off project prid, page by page; repeatable.
func (s *Store) sweepProject(ctx context.Context, pid, prid, cid string, actor clientele.Actor) error {
	var start map[string]string
	for {
		page, err := s.memberPage(ctx, projectPK(pid, prid), 25, start)
		if err != nil {
			return err
		}
		for _, u := range page.Items {
			if cid == "" || u.CompanyID == cid {
				if err := s.leaveProject(ctx, pid, u.ID, prid, actor); err != nil {
					return err
				}
			}
		}
		if start = page.Next; start == nil {
			return nil
		}
	}
}

// deleteMembers deletes every user of company cid, 25 per page; repeatable.
func (s *Store) deleteMembers(ctx context.Context, pid, cid string, actor clientele.Actor, deleted func(clientele.User)) error {
	for {
		page, err := s.memberPage(ctx, companyPK(pid, cid), 25, nil)
		if err != nil || len(page.Items) == 0 {
			return err
		}
		for _, u := range page.Items {
			gone, err := s.DeleteUser(ctx, pid, u.ID, actor, func(clientele.User) error { return nil })
			switch {
			case err != nil && clientele.ErrorCode(err) != clientele.NotFound:
				return err
			case err == nil && deleted != nil:
				deleted(gone)
			}
		}
	}
}
