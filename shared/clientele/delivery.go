package clientele

import (
	"fmt"
	"time"
)

// Delivery states of an invitation email, as SES reports them.
const (
	Delivered  = "delivered"
	Bounced    = "bounced"
	Complained = "complained"
)

// History actions of SES's feedback.
const (
	UserInviteDelivered  = "user.invite_delivered"
	UserInviteBounced    = "user.invite_bounced"
	UserInviteComplained = "user.invite_complained"
)

// Delivery is what SES last said about a user's invitation email.
type Delivery struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	// Detail is SES's reason: the bounce's type and subtype
	// ("Permanent/General"), the complaint's feedback type ("abuse"), or
	// the receiving server's answer to a delivery.
	Detail    string `json:"detail"`
	MessageID string `json:"-"`
}

// Blocks reports whether the address must not be mailed again: it bounced,
// or its owner marked the invitation as spam. Only a new address lifts it.
func (d *Delivery) Blocks() bool { return d != nil && (d.State == Bounced || d.State == Complained) }

// rank orders the states, so that a late "delivered" never hides a bounce
// or a complaint of the same address.
func (d *Delivery) rank() int {
	switch {
	case d == nil:
		return 0
	case d.State == Complained:
		return 3
	case d.State == Bounced:
		return 2
	}
	return 1
}

// RecordDelivery is SES's report about the message sent to addr applied to
// the user: nothing when it is about another address (the user's changed
// since), is the report already recorded (SES and EventBridge deliver at
// least once), or would downgrade a bounce or complaint.
func (u User) RecordDelivery(addr string, d Delivery) (User, string, Changes, bool) {
	if EmailKey(addr) != EmailKey(u.Email) || !u.PortalAccess {
		return u, "", nil, false
	}
	cur := u.Delivery
	if cur != nil && (d.rank() < cur.rank() || (d.rank() == cur.rank() && cur.MessageID == d.MessageID)) {
		return u, "", nil, false
	}
	next := u
	next.Delivery = &d
	action := UserInviteDelivered
	switch d.State {
	case Bounced:
		action = UserInviteBounced
	case Complained:
		action = UserInviteComplained
	}
	if d.Blocks() {
		next.RemindAt = nil // no reminder into a dead address
	}
	ch := Changes{}
	var from any
	if cur != nil {
		from = cur.State
	}
	ch.Record("delivery", from, fmt.Sprintf("%s: %s", d.State, d.Detail))
	return next, action, ch, true
}
