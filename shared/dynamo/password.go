package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// ChangePassword sets a signed-in user's new password hash after their
// current password was checked at credential epoch epoch. In one
// transaction: the credential takes the hash and moves its epoch on (every
// session of the user ends, as at a password reset) under the condition
// that the epoch is still the one checked (a concurrent change or reset
// wins and this one is 401), a new session of the new epoch begins, the
// address's failed sign-ins are cleared (as a good login does) and the
// history records it.
func (s *Store) ChangePassword(ctx context.Context, pid, emailKey, uid string, epoch int, passwordHash, sessionHash string, ttl time.Duration) (Session, error) {
	ended := clientele.Errorf(clientele.Unauthorized, "the session token is unknown, expired or signed out")
	sess := Session{UserID: uid, ExpiresAt: s.clock.Now().Add(ttl), Epoch: epoch + 1}
	item := key(sessionPK(pid, sessionHash), skSession)
	item["type"], item["userId"], item["expiresAt"], item["epoch"] = str("session"), str(uid), num(int(sess.ExpiresAt.Unix())), num(sess.Epoch)
	return sess, s.transact(ctx, []txItem{
		s.update(key(userPK(pid, uid), skCredential), "SET passwordHash = :p, epoch = :next", "attribute_exists(PK) AND epoch = :e", nil,
			map[string]types.AttributeValue{":p": str(passwordHash), ":next": num(sess.Epoch), ":e": num(epoch)}, failWith(ended)),
		s.put(item, "attribute_not_exists(PK)", nil, nil),
		s.del(key(loginFailPK(pid, emailKey), skLoginFail), "", nil, nil),
		s.history(userPK(pid, uid), clientele.Actor{Type: "client", ID: uid}, clientele.UserPasswordChanged, clientele.Changes{}),
	}, nil)
}
