package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// A company's sign-up link is two items: the link on the company's
// partition (its settings and nonce, which staff read and replace) and a
// lookup item under the token's hash (what the public routes open, holding
// the hourly sign-up count). Replacing or disabling the link changes both in
// one transaction; a sign-up's transaction counts on the lookup item, so one
// that races a replacement fails whole.
const skSignup = "SIGNUP"

func signupPK(pid, tokenHash string) string { return portalPrefix(pid) + "#SIGNUP#" + tokenHash }

type signupItem struct {
	PK             string   `dynamodbav:"PK"`
	SK             string   `dynamodbav:"SK"`
	Type           string   `dynamodbav:"type"`
	ID             string   `dynamodbav:"id"`
	CompanyID      string   `dynamodbav:"companyId"`
	Nonce          string   `dynamodbav:"nonce,omitempty"`     // the link item only
	TokenHash      string   `dynamodbav:"tokenHash,omitempty"` // the link item only
	AllowedDomains []string `dynamodbav:"allowedDomains"`
	// Not expiresAt: that is the table's TTL attribute, which would delete
	// an expired link that should still answer 410.
	LinkExpiresAt string `dynamodbav:"linkExpiresAt,omitempty"`
	CreatedAt     string `dynamodbav:"createdAt"`
	CreatedByType string `dynamodbav:"createdByType"`
	CreatedByID   string `dynamodbav:"createdById"`
	// The lookup item's count of sign-ups in the clock hour that starts at
	// RateWindow (Unix seconds).
	RateWindow int64 `dynamodbav:"rateWindow,omitempty"`
	RateCount  int   `dynamodbav:"rateCount,omitempty"`
	Version    int   `dynamodbav:"version"`
}

// SignupLink is a stored sign-up link: its settings, and what makes and
// counts its token.
type SignupLink struct {
	clientele.SignupLink
	PortalID   string
	Nonce      string    // the link item's: the token is derived from it
	TokenHash  string    // the lookup item's key
	RateWindow time.Time // the lookup item's: the window of RateCount
	RateCount  int
}

// Full reports whether the link has taken its sign-ups of the hour of now
// (as last read; SignUp's condition decides). A window later than this
// clock's (another function's clock is ahead) counts as the current one.
func (l SignupLink) Full(now time.Time) bool {
	window, _ := clientele.SignupWindow(now)
	return !l.RateWindow.Before(window) && l.RateCount >= clientele.SignupsPerHour
}

func signupToItem(pk, sk, typ string, l SignupLink) map[string]types.AttributeValue {
	it := signupItem{PK: pk, SK: sk, Type: typ, ID: l.ID, CompanyID: l.CompanyID, AllowedDomains: l.AllowedDomains,
		CreatedAt: fmtTime(l.CreatedAt), CreatedByType: l.CreatedBy.Type, CreatedByID: l.CreatedBy.ID, Version: l.Version}
	if l.ExpiresAt != nil {
		it.LinkExpiresAt = fmtTime(*l.ExpiresAt)
	}
	if typ == "signup_link" {
		it.Nonce, it.TokenHash = l.Nonce, l.TokenHash
	}
	item, _ := attributevalue.MarshalMap(it)
	return item
}

func signupFromItem(pid string, item map[string]types.AttributeValue) (SignupLink, error) {
	var it signupItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return SignupLink{}, fmt.Errorf("decode signup link: %w", err)
	}
	l := SignupLink{PortalID: pid, Nonce: it.Nonce, TokenHash: it.TokenHash, RateCount: it.RateCount,
		SignupLink: clientele.SignupLink{ID: it.ID, CompanyID: it.CompanyID, AllowedDomains: it.AllowedDomains,
			CreatedAt: parseTime(it.CreatedAt), CreatedBy: clientele.Actor{Type: it.CreatedByType, ID: it.CreatedByID}, Version: it.Version}}
	if l.AllowedDomains == nil {
		l.AllowedDomains = []string{}
	}
	if it.LinkExpiresAt != "" {
		at := parseTime(it.LinkExpiresAt)
		l.ExpiresAt = &at
	}
	if it.RateWindow != 0 {
		l.RateWindow = time.Unix(it.RateWindow, 0).UTC()
	}
	return l, nil
}

func signupLinkNotFound() error {
	return clientele.Errorf(clientele.NotFound, "the company has no sign-up link")
}

// PutSignupLink makes l (with its Nonce and TokenHash) the company's
// sign-up link, replacing the one it had: the old token stops in the same
// transaction; its version is one more than the old one's. Refused with
// NotFound for a company that does not exist or is being deleted. answer is
// called before the write with the portal (its appBaseUrl makes the link's
// url) and the link as it will be stored, and returns the Idempotency-Key
// record to write with it, if any.
func (s *Store) PutSignupLink(ctx context.Context, pid string, l SignupLink, answer func(clientele.Portal, SignupLink) *idempotency.Record) error {
	_, err := retry(ctx, func() (struct{}, error) {
		got, err := s.getItems(ctx, key(portalPrefix(pid), skPortal), key(companyPK(pid, l.CompanyID), skMeta), key(companyPK(pid, l.CompanyID), skSignup))
		if err != nil {
			return struct{}{}, err
		}
		if got[1] == nil {
			return struct{}{}, companyNotFound()
		}
		p, err := portalOf(pid, got[0])
		if err != nil {
			return struct{}{}, err
		}
		var prev *SignupLink
		if got[2] != nil {
			old, err := signupFromItem(pid, got[2])
			if err != nil {
				return struct{}{}, err
			}
			prev = &old
		}
		l.Version = 1
		if prev != nil {
			l.Version = prev.Version + 1
		}
		items := []txItem{
			s.conditionCheck(key(companyPK(pid, l.CompanyID), skMeta), "attribute_exists(PK) AND attribute_not_exists(deleting)", nil,
				failWith(companyNotFound())),
			s.put(signupToItem(signupPK(pid, l.TokenHash), skMeta, "signup_token", l), "attribute_not_exists(PK)", nil,
				failWith(clientele.Errorf(clientele.Conflict, "token collision; retry"))),
		}
		link := signupToItem(companyPK(pid, l.CompanyID), skSignup, "signup_link", l)
		if prev != nil {
			items = append(items,
				s.put(link, "nonce = :nonce", map[string]types.AttributeValue{":nonce": str(prev.Nonce)}, failWith(errRetry)),
				s.del(key(signupPK(pid, prev.TokenHash), skMeta), "", nil, nil))
		} else {
			items = append(items, s.put(link, "attribute_not_exists(PK)", nil, failWith(errRetry)))
		}
		return struct{}{}, s.transact(ctx, items, answer(p, l))
	})
	return err
}

// GetSignupLink returns the company's sign-up link and the portal:
// NotFound when the company has none (or does not exist). One
// TransactGetItems.
func (s *Store) GetSignupLink(ctx context.Context, pid, cid string) (SignupLink, clientele.Portal, error) {
	got, err := s.getItems(ctx, key(companyPK(pid, cid), skSignup), key(portalPrefix(pid), skPortal))
	if err != nil {
		return SignupLink{}, clientele.Portal{}, err
	}
	if got[0] == nil {
		return SignupLink{}, clientele.Portal{}, signupLinkNotFound()
	}
	p, err := portalOf(pid, got[1])
	if err != nil {
		return SignupLink{}, p, err
	}
	l, err := signupFromItem(pid, got[0])
	return l, p, err
}

// portalOf is the portal of item, the defaults when it was never saved.
func portalOf(pid string, item map[string]types.AttributeValue) (clientele.Portal, error) {
	if item == nil {
		return clientele.DefaultPortal(pid), nil
	}
	return portalFromItem(pid, item)
}

// DeleteSignupLink disables the company's sign-up link: its token stops in
// the same transaction. check sees the link first (If-Match).
func (s *Store) DeleteSignupLink(ctx context.Context, pid, cid string, check func(SignupLink) error) error {
	_, err := retry(ctx, func() (struct{}, error) {
		item, err := s.getItem(ctx, companyPK(pid, cid), skSignup)
		if err != nil || item == nil {
			return struct{}{}, orNotFound(err, signupLinkNotFound())
		}
		l, err := signupFromItem(pid, item)
		if err != nil {
			return struct{}{}, err
		}
		if err := check(l); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, s.transact(ctx, []txItem{
			s.del(key(companyPK(pid, cid), skSignup), "nonce = :nonce", map[string]types.AttributeValue{":nonce": str(l.Nonce)}, failWith(errRetry)),
			s.del(key(signupPK(pid, l.TokenHash), skMeta), "", nil, nil),
		}, nil)
	})
	return err
}

// OpenSignupLink returns the sign-up link of a token's hash: NotFound when
// there is none (unknown, replaced or disabled). One GetItem; the caller
// decides on expiry and the hourly count.
func (s *Store) OpenSignupLink(ctx context.Context, pid, tokenHash string) (SignupLink, error) {
	item, err := s.getItem(ctx, signupPK(pid, tokenHash), skMeta)
	if err != nil || item == nil {
		return SignupLink{}, orNotFound(err, clientele.SignupLinkUnknown())
	}
	l, err := signupFromItem(pid, item)
	l.TokenHash = tokenHash
	return l, err
}

// SignUp creates u, a user signing up through link l (as OpenSignupLink
// returned it), with CreateUser's transaction plus the link's count: one
// more sign-up in the current clock hour, under clientele.SignupsPerHour by
// the condition, so parallel sign-ups cannot pass it, and only if the link
// still exists (a replaced or disabled link stops at once).
func (s *Store) SignUp(ctx context.Context, l SignupLink, u clientele.User, tokenHash string) error {
	now := s.Now()
	window, _ := clientele.SignupWindow(now)
	_, err := retry(ctx, func() (struct{}, error) {
		k := key(signupPK(l.PortalID, l.TokenHash), skMeta)
		vals := map[string]types.AttributeValue{":w": numInt64(window.Unix()), ":one": num(1)}
		var count txItem
		fail := func(old map[string]types.AttributeValue) error {
			if old == nil {
				return clientele.SignupLinkUnknown()
			}
			cur, err := signupFromItem(l.PortalID, old)
			if err != nil {
				return err
			}
			if cur.Full(now) {
				return clientele.SignupRateLimited(now)
			}
			// The window turned, or another sign-up started it: read again.
			l.RateWindow, l.RateCount = cur.RateWindow, cur.RateCount
			return errRetry
		}
		if l.Full(now) {
			return struct{}{}, clientele.SignupRateLimited(now)
		}
		if !l.RateWindow.Before(window) {
			vals[":max"] = num(clientele.SignupsPerHour)
			count = s.update(k, "ADD rateCount :one", "attribute_exists(PK) AND rateWindow >= :w AND rateCount < :max", nil, vals, fail)
		} else {
			count = s.update(k, "SET rateWindow = :w, rateCount = :one", "attribute_exists(PK) AND (attribute_not_exists(rateWindow) OR rateWindow < :w)", nil, vals, fail)
		}
		return struct{}{}, s.createUser(ctx, l.PortalID, u, tokenHash, l.Actor(), count)
	})
	return err
}

func numInt64(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
