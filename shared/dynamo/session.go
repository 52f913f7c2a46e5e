package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// Keys of client credentials and sessions.
func sessionPK(pid, tokenHash string) string { return portalPrefix(pid) + "#SESSION#" + tokenHash }

const (
	skSession = "SESSION"
	// skCredential is a user's password hash, kept apart from the user item
	// so that no list copy ever carries it. "CRED" sorts before "H#".
	skCredential = "CRED"
)

// Invite is what an invitation link leads to.
type Invite struct {
	User    clientele.User
	Company clientele.Company
	Portal  clientele.Portal
}

// inviteLink is the item of an invitation link to user u: it names the user
// and the company (a user never changes company), so that opening it reads
// everything else in one TransactGetItems; TTL removes it once expired.
func (s *Store) inviteLink(pid, tokenHash string, u clientele.User) txItem {
	inv := key(invitePK(pid, tokenHash), skInvite)
	inv["type"], inv["userId"], inv["companyId"] = str("invite"), str(u.ID), str(u.CompanyID)
	inv["expiresAt"] = num(int(u.InviteExpiresAt.Unix()))
	return s.put(inv, "attribute_not_exists(PK)", nil, nil)
}

// OpenInvite follows an invitation link: the link's item, then the user,
// portal and company in one TransactGetItems (a link written before links
// named the company reads it apart). A used, replaced or unknown link is
// NotFound; an expired one is Gone.
func (s *Store) OpenInvite(ctx context.Context, pid, tokenHash string) (Invite, error) {
	notFound := clientele.Errorf(clientele.NotFound, "this invitation link is unknown or was already used; ask your contact to re-invite you")
	item, err := s.getItem(ctx, invitePK(pid, tokenHash), skInvite)
	if err != nil || item == nil {
		return Invite{}, orNotFound(err, notFound)
	}
	uid, cid := sval(item, "userId"), sval(item, "companyId")
	keys := []map[string]types.AttributeValue{key(userPK(pid, uid), skMeta), key(portalPrefix(pid), skPortal)}
	if cid != "" {
		keys = append(keys, key(companyPK(pid, cid), skMeta))
	}
	got, err := s.getItems(ctx, keys...)
	if err != nil {
		return Invite{}, err
	}
	if got[0] == nil {
		return Invite{}, notFound
	}
	var inv Invite
	if inv.User, err = userFromItem(got[0]); err != nil {
		return inv, err
	}
	inv.Portal = clientele.DefaultPortal(pid)
	if got[1] != nil {
		if inv.Portal, err = portalFromItem(pid, got[1]); err != nil {
			return inv, err
		}
	}
	u := inv.User
	switch {
	case u.InviteTokenHash == nil || *u.InviteTokenHash != tokenHash || u.Status == clientele.Active:
		return inv, notFound // replaced by a re-invite, or accepted
	case u.Status == clientele.Deactivated:
		return inv, clientele.Errorf(clientele.Conflict, "this account was deactivated; ask your contact")
	case u.InviteExpiresAt == nil || !s.clock.Now().Before(*u.InviteExpiresAt):
		return inv, clientele.Errorf(clientele.Gone, "this invitation link has expired; ask your contact to re-invite you")
	}
	if cid != u.CompanyID { // a link older than links naming the company
		inv.Company, err = s.GetCompany(ctx, pid, u.CompanyID)
		return inv, err
	}
	inv.Company, err = companyOf(got[2])
	return inv, err
}

// Session is a client user's session. Epoch is the user's credential epoch
// when it began: a password reset moves the epoch on, which ends every
// session at once without finding them.
type Session struct {
	UserID    string
	ExpiresAt time.Time
	Epoch     int
}

// AcceptInvite makes an invited user active: in one transaction the link is
// used up (deleted under the condition that it exists, so a second accept
// fails), the user becomes active with the accepted time, the password
// hash is stored, and a session begins (none when sessionHash is "": the
// invitation page has nowhere to keep one; its user signs in afterwards).
func (s *Store) AcceptInvite(ctx context.Context, pid, uid, tokenHash string, change func(clientele.User) (clientele.User, error), passwordHash, sessionHash string, sessionTTL time.Duration) (clientele.User, Session, error) {
	var sess Session
	u, err := s.updateUser(ctx, pid, uid, clientele.Actor{Type: "client", ID: uid}, func(cur clientele.User) (UserChange, error) {
		if cur.InviteTokenHash == nil || *cur.InviteTokenHash != tokenHash || cur.Status != clientele.Invited {
			return UserChange{}, clientele.Errorf(clientele.NotFound, "this invitation link was already used")
		}
		next, err := change(cur)
		if err != nil {
			return UserChange{}, err
		}
		ch := clientele.Changes{}
		ch.Record("status", cur.Status, next.Status)
		ch.Record("name", cur.Name, next.Name)
		return UserChange{Next: next, Action: clientele.UserAccepted, Changes: ch}, nil
	}, func(next clientele.User) []txItem {
		sess = Session{UserID: next.ID, ExpiresAt: s.clock.Now().Add(sessionTTL)}
		cred := key(userPK(pid, next.ID), skCredential)
		cred["type"], cred["passwordHash"] = str("credential"), str(passwordHash)
		session := key(sessionPK(pid, sessionHash), skSession)
		session["type"], session["userId"], session["expiresAt"] = str("session"), str(next.ID), num(int(sess.ExpiresAt.Unix()))
		session["epoch"], cred["epoch"] = num(0), num(0)
		items := []txItem{
			s.del(key(invitePK(pid, tokenHash), skInvite), "attribute_exists(PK)", nil,
				failWith(clientele.Errorf(clientele.NotFound, "this invitation link was already used"))),
			s.put(cred, "", nil, nil),
		}
		if sessionHash == "" {
			sess = Session{}
			return items
		}
		return append(items, s.put(session, "", nil, nil))
	})
	return u, sess, err
}

// GetSession returns the live session of a token hash.
func (s *Store) GetSession(ctx context.Context, pid, tokenHash string) (Session, error) {
	item, err := s.getItem(ctx, sessionPK(pid, tokenHash), skSession)
	unauthorized := clientele.Errorf(clientele.Unauthorized, "the session token is unknown, expired or signed out")
	if err != nil || item == nil {
		return Session{}, orNotFound(err, unauthorized)
	}
	exp := time.Unix(int64(nval(item, "expiresAt")), 0)
	if !s.clock.Now().Before(exp) { // TTL deletes late: the read decides
		return Session{}, unauthorized
	}
	return Session{UserID: sval(item, "userId"), ExpiresAt: exp, Epoch: nval(item, "epoch")}, nil
}

// SessionUser reads the user of a live session and checks the session is of
// the user's current credential epoch; one TransactGetItems.
func (s *Store) SessionUser(ctx context.Context, pid string, sess Session) (clientele.User, error) {
	unauthorized := clientele.Errorf(clientele.Unauthorized, "the session token is unknown, expired or signed out")
	got, err := s.getItems(ctx, key(userPK(pid, sess.UserID), skMeta), key(userPK(pid, sess.UserID), skCredential))
	if err != nil {
		return clientele.User{}, err
	}
	if got[0] == nil || got[1] == nil || nval(got[1], "epoch") != sess.Epoch {
		return clientele.User{}, unauthorized
	}
	return userFromItem(got[0])
}

// EndSession deletes a session at once.
func (s *Store) EndSession(ctx context.Context, pid, tokenHash string) error {
	return s.transact(ctx, []txItem{s.del(key(sessionPK(pid, tokenHash), skSession), "attribute_exists(PK)", nil,
		failWith(clientele.Errorf(clientele.Unauthorized, "the session token is unknown, expired or signed out")))}, nil)
}

func nval(item map[string]types.AttributeValue, name string) int {
	var n int
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		fmt.Sscan(v.Value, &n)
	}
	return n
}
