package dynamo

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// The re-invite gate: one item per user whose expiresAt is when the next
// invitation may go out. It is written with a condition in the same
// transaction as the invitation, so concurrent re-invites (and reminders)
// send at most one email per window; DynamoDB's TTL deletes it late, so the
// condition compares expiresAt rather than relying on the item's absence.
func gatePK(pid, uid string) string { return portalPrefix(pid) + "#GATE#" + uid }

const skGate = "GATE"

var errGated = errors.New("re-invite gate closed")

// gateItem closes the gate for an invitation sent at from, unless it is
// closed (errGated).
func (s *Store) gateItem(pid, uid string, from time.Time) txItem {
	return s.put(s.gate(pid, uid, from), "attribute_not_exists(PK) OR expiresAt <= :now",
		map[string]types.AttributeValue{":now": num(int(s.clock.Now().Unix()))}, failWith(errGated))
}

// gateReset closes the gate from from whatever it was: an email change
// invites the new address at once.
func (s *Store) gateReset(pid, uid string, from time.Time) txItem {
	return s.put(s.gate(pid, uid, from), "", nil, nil)
}

// gate is the gate item of an invitation sent at from: it closes re-invites
// until ReinviteAvailableAt(from), and TTL removes it after.
func (s *Store) gate(pid, uid string, from time.Time) map[string]types.AttributeValue {
	g := key(gatePK(pid, uid), skGate)
	g["type"], g["userId"] = str("reinvite_gate"), str(uid)
	g["expiresAt"] = num(int(clientele.ReinviteAvailableAt(from).Unix()))
	return g
}

// gateClosed reads the gate: nil when it is open, else the Gated error
// saying when the next invitation may go out.
func (s *Store) gateClosed(ctx context.Context, pid, uid string) error {
	item, err := s.getItem(ctx, gatePK(pid, uid), skGate)
	if err != nil {
		return err
	}
	return s.gateError(item)
}

// gateError is the Gated error of the gate item, nil when the gate is open
// (absent, or expired and not yet deleted by TTL).
func (s *Store) gateError(item map[string]types.AttributeValue) error {
	if item == nil {
		return nil
	}
	at := time.Unix(int64(nval(item, "expiresAt")), 0).UTC()
	if !at.After(s.clock.Now()) {
		return nil // expired; DynamoDB's TTL has not deleted it yet
	}
	return clientele.GatedUntil(at, s.clock.Now())
}

// Reinvite sends a user a new invitation link: in one transaction the gate
// closes for 24 hours (or the call fails with Gated), the old link is
// deleted, the new link's hash is stored and the user records the new
// invitation. The caller sends the email, and calls InviteNotSent if it
// could not, so that nothing stays locked by a failure.
func (s *Store) Reinvite(ctx context.Context, pid, uid, tokenHash string, ttl time.Duration, actor clientele.Actor, check func(clientele.User) error) (clientele.User, error) {
	return s.invite(ctx, pid, uid, tokenHash, ttl, actor, false, check)
}

// invite is a re-invite, or with reminder an automatic reminder (counted).
func (s *Store) invite(ctx context.Context, pid, uid, tokenHash string, ttl time.Duration, actor clientele.Actor, reminder bool, check func(clientele.User) error) (clientele.User, error) {
	// One read first, of the user and the gate together: a user who cannot
	// be re-invited hears so before the gate is looked at, and a closed gate
	// (the common refusal) costs no doomed transaction. The transaction's
	// own conditions still decide races.
	items, err := s.getItems(ctx, key(userPK(pid, uid), skMeta), key(gatePK(pid, uid), skGate))
	if err != nil {
		return clientele.User{}, err
	}
	if items[0] == nil {
		return clientele.User{}, userNotFound()
	}
	cur, err := userFromItem(items[0])
	if err != nil {
		return clientele.User{}, err
	}
	if err := cur.Reinvitable(); err != nil {
		return cur, err
	}
	if err := s.gateError(items[1]); err != nil {
		return clientele.User{}, err
	}
	now := s.Now()
	var old *string
	// The first attempt writes from the user just read: one round trip less.
	u, err := s.updateUserFrom(ctx, pid, uid, &cur, actor, func(cur clientele.User) (UserChange, error) {
		if err := cur.Reinvitable(); err != nil {
			return UserChange{}, err
		}
		if err := check(cur); err != nil {
			return UserChange{}, err
		}
		old = cur.InviteTokenHash
		next := cur.WithInvitation(now, ttl, tokenHash)
		// Always a change, even within the same millisecond: a re-invite
		// must reach the gate's condition and replace the link.
		ch := clientele.Changes{"lastInvitedAt": {From: cur.LastInvitedAt, To: now}}
		action := clientele.UserInvited
		if reminder {
			next.RemindersSent = cur.RemindersSent + 1
			ch["remindersSent"] = clientele.Change{From: cur.RemindersSent, To: next.RemindersSent}
			action = clientele.UserReminded
		}
		return UserChange{Next: next, Action: action, Changes: ch}, nil
	}, func(next clientele.User) []txItem {
		items := []txItem{s.gateItem(pid, uid, now), s.inviteLink(pid, tokenHash, next)}
		if old != nil {
			items = append(items, s.del(key(invitePK(pid, *old), skInvite), "", nil, nil))
		}
		return items
	})
	if errors.Is(err, errGated) {
		if err := s.gateClosed(ctx, pid, uid); err != nil {
			return u, err
		}
		return u, clientele.Errorf(clientele.Gated, "another invitation is going out right now")
	}
	return u, err
}

// InviteNotSent undoes what an invitation sent at sentAt took, once its
// email failed: the user says why (invite.lastError) and the gate that the
// invitation closed opens again, so that a re-invite may send at once. One
// transaction: if a newer invitation has since taken the gate (or the user
// is gone) neither is written, as the failure is no longer the last word.
func (s *Store) InviteNotSent(ctx context.Context, pid, uid string, sentAt time.Time, msg string) error {
	err := s.transact(ctx, []txItem{
		s.update(key(userPK(pid, uid), skMeta), "SET inviteError = :e", "attribute_exists(PK) AND lastInvitedAt = :sent", nil,
			map[string]types.AttributeValue{":e": str(msg), ":sent": str(fmtTime(sentAt))}, failWith(nil)),
		s.gateRelease(pid, uid, sentAt),
	}, nil)
	return err
}

// gateRelease deletes the gate a re-invite at sentAt closed; it fails (and
// with it its transaction) only when a later invitation closed it again.
func (s *Store) gateRelease(pid, uid string, sentAt time.Time) txItem {
	return s.del(key(gatePK(pid, uid), skGate), "attribute_not_exists(PK) OR expiresAt = :ours",
		map[string]types.AttributeValue{":ours": num(int(clientele.ReinviteAvailableAt(sentAt).Unix()))}, failWith(nil))
}
