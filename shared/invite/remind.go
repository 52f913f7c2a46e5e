package invite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
)

// Run is what one run of the scheduled reminders did.
type Run struct {
	Due     int  `json:"due"`     // index entries read
	Sent    int  `json:"sent"`    // reminders sent
	Skipped int  `json:"skipped"` // no longer due: sent by another run, re-invited, accepted, gated
	Failed  int  `json:"failed"`  // not sent (the email or a dependency failed); tried again later
	Done    bool `json:"done"`    // false when the run stopped at its deadline, leaving the rest to the next
}

// reminderPage is how many index entries a run reads per Query, unless
// Invitations.ReminderPage says otherwise.
const reminderPage = 100

// reminderMargin is the time a run keeps in hand before its deadline: it
// stops taking new users so that the one in flight can finish.
const reminderMargin = 30 * time.Second

// Remind is one run of the scheduled reminders: it pages through the users
// due for a reminder (the sparse reminder index, shard by shard, never a
// Scan) and sends each one a new invitation through the re-invite gate.
// The store decides every send on a consistent read under the gate's
// condition, so a second or parallel run, or a stale index entry, sends
// nothing twice.
func (s Invitations) Remind(ctx context.Context) (Run, error) {
	run := Run{Done: true}
	size := cmp.Or(s.ReminderPage, reminderPage)
	r := reminders{Invitations: s, portals: map[string]clientele.Portal{}, companies: map[string]clientele.Company{}}
	deadline, hasDeadline := ctx.Deadline()
	seen := map[dynamo.Due]bool{}
	for shard := 0; shard < dynamo.ReminderShards; shard++ {
		// Paged by ExclusiveStartKey: a reminder moves its user's entry
		// past now, out of the range read, which leaves the position of the
		// next page where it was. A lagging index may show a user already
		// reminded in this run again: seen passes over it.
		var start map[string]string
		for {
			p, err := s.Store.DueReminders(ctx, shard, size, start)
			if err != nil {
				s.Log.ErrorContext(ctx, "reminders: index not read", "shard", shard, "error", err)
				return run, err
			}
			for _, due := range p.Items {
				if seen[due] {
					continue
				}
				if hasDeadline && time.Until(deadline) < reminderMargin {
					run.Done = false
					s.Log.InfoContext(ctx, "reminders: stopping at the deadline", "due", run.Due, "sent", run.Sent)
					return run, nil
				}
				seen[due] = true
				run.Due++
				switch err := r.remind(ctx, due); {
				case err == nil:
					run.Sent++
				case errors.Is(err, errNotDue):
					run.Skipped++
				default:
					run.Failed++
					s.Log.WarnContext(ctx, "reminder not sent", "portal", due.PortalID, "user", due.UserID, "error", err)
				}
			}
			if start = p.Next; start == nil {
				break
			}
		}
	}
	s.Log.InfoContext(ctx, "reminders: run finished", "due", run.Due, "sent", run.Sent, "skipped", run.Skipped, "failed", run.Failed)
	return run, nil
}

var errNotDue = errors.New("not due")

// reminders is one run: the portals and companies it read, once each.
type reminders struct {
	Invitations
	portals   map[string]clientele.Portal
	companies map[string]clientele.Company
}

// remind sends one due user their reminder. A failed email is undone (the
// count, the gate) and tried again in an hour.
func (r reminders) remind(ctx context.Context, due dynamo.Due) error {
	portal, err := cached(r.portals, due.PortalID, func() (clientele.Portal, error) { return r.Store.GetPortal(ctx, due.PortalID) })
	if err != nil {
		return err
	}
	token, hash := auth.NewPortalToken(portal.ID)
	ac := dynamo.AddContext{Portal: portal}
	u, err := r.Store.Remind(ctx, portal.ID, due.UserID, hash, portal.InviteTTL(), func(u clientele.User) (err error) {
		// Read before the reminder is written: after it, only the email
		// can fail, and that failure is undone.
		ac.Company, err = cached(r.companies, portal.ID+"/"+u.CompanyID, func() (clientele.Company, error) {
			return r.Store.GetCompany(ctx, portal.ID, u.CompanyID)
		})
		return err
	})
	if err != nil {
		switch clientele.ErrorCode(err) {
		case clientele.Conflict, clientele.Gated, clientele.NotFound:
			return errNotDue
		}
		return err
	}
	if err := r.send(ctx, ac, u, token); err != nil {
		r.notSent(ctx, portal.ID, u, true, err)
		return fmt.Errorf("send reminder: %w", err)
	}
	return nil
}

// cached is m[k], read once by get.
func cached[T any](m map[string]T, k string, get func() (T, error)) (T, error) {
	if v, ok := m[k]; ok {
		return v, nil
	}
	v, err := get()
	if err == nil {
		m[k] = v
	}
	return v, err
}
