package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// Login lockout: at most MaxLoginFailures wrong passwords per address in a
// LoginWindow; then the account is locked until the window ends. Counted per
// address whether or not a user has it, so a lockout tells nothing either.
const (
	MaxLoginFailures = 5
	LoginWindow      = 15 * time.Minute
)

func loginFailPK(pid, emailKey string) string { return portalPrefix(pid) + "#LOGINFAIL#" + emailKey }

const skLoginFail = "LOGINFAIL"

// Credentials is what a login checks: the user of an address and its
// password hash ("" when the user has not set one).
type Credentials struct {
	User         clientele.User
	PasswordHash string
	Epoch        int
}

// LoginState reads, for one address, the lockout counter and the user's
// credentials: GetItem(counter and email guard at once) then
// TransactGetItems(user, credential) when the address is taken.
func (s *Store) LoginState(ctx context.Context, pid, emailKey string) (*Credentials, error) {
	got, err := s.getItems(ctx, key(loginFailPK(pid, emailKey), skLoginFail), key(emailPK(pid, emailKey), skGuard))
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if c := got[0]; c != nil {
		ends := time.Unix(int64(nval(c, "windowEnds")), 0)
		if nval(c, "failures") >= MaxLoginFailures && now.Before(ends) {
			return nil, &clientele.Error{Code: clientele.Gated, RetryAfter: ends.Sub(now),
				Message: "too many failed sign-ins for this account; try again later or reset the password"}
		}
	}
	if got[1] == nil {
		return nil, nil
	}
	uid := sval(got[1], "userId")
	items, err := s.getItems(ctx, key(userPK(pid, uid), skMeta), key(userPK(pid, uid), skCredential))
	if err != nil || items[0] == nil {
		return nil, err
	}
	u, err := userFromItem(items[0])
	if err != nil {
		return nil, err
	}
	cred := &Credentials{User: u}
	if items[1] != nil {
		cred.PasswordHash, cred.Epoch = sval(items[1], "passwordHash"), nval(items[1], "epoch")
	}
	return cred, nil
}

// LoginFailed counts a failed sign-in of an address, opening a new window
// when the last one ended.
func (s *Store) LoginFailed(ctx context.Context, pid, emailKey string) error {
	now := s.clock.Now()
	k := key(loginFailPK(pid, emailKey), skLoginFail)
	_, err := retry(ctx, func() (struct{}, error) {
		err := s.transact(ctx, []txItem{s.update(k, "ADD failures :one", "windowEnds > :now", nil,
			map[string]types.AttributeValue{":one": num(1), ":now": num(int(now.Unix()))}, failWith(errRetry))}, nil)
		if err != errRetry {
			return struct{}{}, err
		}
		fresh := key(loginFailPK(pid, emailKey), skLoginFail)
		ends := now.Add(LoginWindow)
		fresh["type"], fresh["failures"], fresh["windowEnds"], fresh["expiresAt"] = str("login_failures"), num(1), num(int(ends.Unix())), num(int(ends.Unix()))
		return struct{}{}, s.transact(ctx, []txItem{s.put(fresh, "attribute_not_exists(PK) OR windowEnds <= :now",
			map[string]types.AttributeValue{":now": num(int(now.Unix()))}, failWith(errRetry))}, nil)
	})
	return err
}

// StartSession begins a client session after a good password and clears the
// address's failures.
func (s *Store) StartSession(ctx context.Context, pid, emailKey, uid string, epoch int, sessionHash string, ttl time.Duration) (Session, error) {
	sess := Session{UserID: uid, ExpiresAt: s.clock.Now().Add(ttl), Epoch: epoch}
	item := key(sessionPK(pid, sessionHash), skSession)
	item["type"], item["userId"], item["expiresAt"], item["epoch"] = str("session"), str(uid), num(int(sess.ExpiresAt.Unix())), num(epoch)
	return sess, s.transact(ctx, []txItem{
		s.put(item, "attribute_not_exists(PK)", nil, nil),
		s.del(key(loginFailPK(pid, emailKey), skLoginFail), "", nil, nil),
	}, nil)
}
