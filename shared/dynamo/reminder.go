package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// ReminderShards spreads the reminder index over this many partitions, so
// that many portals' invitations do not all write one hot key.
const ReminderShards = 8

func reminderShard(uid string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(uid))
	return fmt.Sprintf("REMIND#%d", h.Sum32()%ReminderShards)
}

// reminderActor signs the history of automatic reminders.
var reminderActor = clientele.Actor{Type: "system", ID: "reminders"}

// Due is one entry of the reminder index.
type Due struct {
	PortalID, UserID string
}

// DueReminders returns a page of shard's users whose reminder is due at or
// before now: one Query of the sparse reminder index, never a Scan. The
// index is eventually consistent; Remind decides on a consistent read.
func (s *Store) DueReminders(ctx context.Context, shard, limit int, start map[string]string) (Page[Due], error) {
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(gsi5), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression: aws.String("GSI5PK = :pk AND GSI5SK <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(fmt.Sprintf("REMIND#%d", shard)), ":now": str(fmtTime(s.Now()))}}
	return query(ctx, s, in, start, func(item map[string]types.AttributeValue) (Due, error) {
		pid, uid, ok := splitUserPK(sval(item, "PK"))
		if !ok {
			return Due{}, fmt.Errorf("reminder index entry with key %q", sval(item, "PK"))
		}
		return Due{PortalID: pid, UserID: uid}, nil
	})
}

// splitUserPK reads the portal and user ids out of a user item's key.
func splitUserPK(pk string) (pid, uid string, ok bool) {
	rest, ok := strings.CutPrefix(pk, "P#")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "#U#")
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+3:], true
}

// Remind sends a due user an automatic reminder: a new invitation link
// through the same 24-hour gate as a re-invite, counted in remindersSent.
// It refuses (Conflict) a user no longer due, so a second run, a parallel
// run or a stale index entry sends nothing.
// ready sees the user before anything is written (to read what the email
// needs, so that no failure can come between the write and the send).
func (s *Store) Remind(ctx context.Context, pid, uid, tokenHash string, ttl time.Duration, ready func(clientele.User) error) (clientele.User, error) {
	return s.invite(ctx, pid, uid, tokenHash, ttl, reminderActor, true, func(u clientele.User) error {
		due := u.RemindDue()
		if due == nil || due.After(s.Now()) {
			return clientele.Errorf(clientele.Conflict, "no reminder is due")
		}
		return ready(u)
	})
}

// ReminderFailed undoes the count of a reminder whose email could not be
// sent (sentAt is the reminder's time), schedules another try soon and
// reopens the gate, in one transaction. Nothing happens if a later
// invitation replaced it.
func (s *Store) ReminderFailed(ctx context.Context, pid, uid string, sentAt time.Time, msg string) error {
	_, err := s.updateUser(ctx, pid, uid, reminderActor, func(cur clientele.User) (UserChange, error) {
		if cur.LastInvitedAt == nil || !cur.LastInvitedAt.Equal(sentAt) {
			return UserChange{}, nil
		}
		next := cur
		retry := s.Now().Add(clientele.ReminderRetry)
		next.RemindersSent, next.RemindAt, next.InviteError = max(cur.RemindersSent-1, 0), &retry, &msg
		ch := clientele.Changes{"remindersSent": {From: cur.RemindersSent, To: next.RemindersSent}}
		return UserChange{Next: next, Action: clientele.UserReminderFailed, Changes: ch}, nil
	}, func(clientele.User) []txItem {
		// Nothing went out: the gate the reminder closed opens with it.
		return []txItem{s.gateRelease(pid, uid, sentAt)}
	})
	return err
}
