// Package auth turns what the gateway verified into a principal and decides
// what that principal may do.
package auth

import (
	"github.com/clientele/clientele/shared/clientele"
)

// Staff roles, as carried by the `role` claim.
const (
	Owner  = "owner"
	Admin  = "admin"
	Member = "member"
)

// Principal is an authenticated member of a portal's staff.
type Principal struct {
	Subject  string
	PortalID string
	Role     string
}

// FromClaims builds a staff principal from JWT claims that API Gateway's JWT
// authorizer has already verified (signature, iss, aud, exp). The claims are
// still checked for shape: they become DynamoDB key prefixes.
func FromClaims(claims map[string]string) (Principal, error) {
	p := Principal{Subject: claims["sub"], PortalID: claims["portal_id"], Role: claims["role"]}
	switch {
	case len(claims) == 0:
		return p, clientele.Errorf(clientele.Unauthorized, "a bearer token is required")
	case p.Subject == "" || len(p.Subject) > 256:
		return p, clientele.Errorf(clientele.Unauthorized, "the token has no valid sub claim")
	case !clientele.ValidPortalID(p.PortalID):
		return p, clientele.Errorf(clientele.Unauthorized, "the token has no valid portal_id claim")
	case p.Role != Owner && p.Role != Admin && p.Role != Member:
		return p, clientele.Errorf(clientele.Forbidden, "the token's role claim is not owner, admin or member")
	}
	return p, nil
}

// CanWrite reports whether the principal may change things: owners and
// admins may, members only read.
func (p Principal) CanWrite() bool { return p.Role == Owner || p.Role == Admin }

// Actor is the principal as it appears in history.
func (p Principal) Actor() clientele.Actor { return clientele.Actor{Type: "staff", ID: p.Subject} }
