package dynamo

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// Password reset codes: valid ResetTTL, burned after MaxResetTries wrong
// tries. One live code per address; a new request replaces it.
const (
	ResetTTL      = 10 * time.Minute
	MaxResetTries = 5
)

func resetPK(pid, emailKey string) string { return portalPrefix(pid) + "#RESET#" + emailKey }

const skReset = "RESET"

// SaveResetCode stores the hash of a new code for user uid's address.
func (s *Store) SaveResetCode(ctx context.Context, pid, emailKey, uid, codeHash string) error {
	item := key(resetPK(pid, emailKey), skReset)
	exp := s.clock.Now().Add(ResetTTL)
	item["type"], item["userId"], item["codeHash"] = str("reset_code"), str(uid), str(codeHash)
	item["tries"], item["expiresAt"] = num(0), num(int(exp.Unix()))
	return s.transact(ctx, []txItem{s.put(item, "", nil, nil)}, nil)
}

var errWrongCode = clientele.Fields{{Field: "code", Message: "is wrong or expired; request a new one"}}.Err()

// ResetPassword checks a code (in constant time) and, when right, sets the
// new password hash, moves the credential epoch on (every session ends) and
// uses the code up, in one transaction. A wrong code counts a try; the
// fifth burns it.
func (s *Store) ResetPassword(ctx context.Context, pid, emailKey, codeHash, passwordHash string) error {
	k := key(resetPK(pid, emailKey), skReset)
	item, err := s.getItem(ctx, resetPK(pid, emailKey), skReset)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	if item == nil || nval(item, "tries") >= MaxResetTries || !now.Before(time.Unix(int64(nval(item, "expiresAt")), 0)) {
		return errWrongCode
	}
	if subtle.ConstantTimeCompare([]byte(sval(item, "codeHash")), []byte(codeHash)) != 1 {
		tries := nval(item, "tries") + 1
		w := s.update(k, "SET tries = :t", "tries = :prev", nil,
			map[string]types.AttributeValue{":t": num(tries), ":prev": num(tries - 1)}, failWith(nil))
		if tries >= MaxResetTries {
			w = s.del(k, "tries = :prev", map[string]types.AttributeValue{":prev": num(tries - 1)}, failWith(nil))
		}
		if err := s.transact(ctx, []txItem{w}, nil); err != nil {
			return err
		}
		return errWrongCode
	}
	uid := sval(item, "userId")
	cred := key(userPK(pid, uid), skCredential)
	return s.transact(ctx, []txItem{
		s.del(k, "codeHash = :h AND tries = :t", map[string]types.AttributeValue{":h": str(codeHash), ":t": num(nval(item, "tries"))}, failWith(errWrongCode)),
		s.update(cred, "SET passwordHash = :p ADD epoch :one", "attribute_exists(PK)", nil,
			map[string]types.AttributeValue{":p": str(passwordHash), ":one": num(1)}, failWith(errWrongCode)),
		s.history(userPK(pid, uid), clientele.Actor{Type: "client", ID: uid}, clientele.UserPasswordReset, clientele.Changes{}),
	}, nil)
}
