package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
)

// ReminderRun is what one run of the scheduled reminders did.
type ReminderRun struct {
	Due     int  `json:"due"`     // index entries read
	Sent    int  `json:"sent"`    // reminders sent
	Skipped int  `json:"skipped"` // no longer due: sent by another run, re-invited, accepted, gated
	Failed  int  `json:"failed"`  // not sent (the email or a dependency failed); tried again later
	Done    bool `json:"done"`    // false when the run stopped at its deadline, leaving the rest to the next
}

// reminderPage is how many index entries a run reads per Query.
var reminderPage = 100

// reminderMargin is the time a run keeps in hand before its deadline: it
// stops taking new users so that the one in flight can finish.
const reminderMargin = 30 * time.Second

// Reminders is the scheduled function: it pages through the users due for
// a reminder (the sparse reminder index, shard by shard, never a Scan) and
// sends each one a new invitation through the re-invite gate. The store
// decides every send on a consistent read under the gate's condition, so a
// second or parallel run, or a stale index entry, sends nothing twice.
func (d Deps) Reminders(ctx context.Context, _ events.EventBridgeEvent) (ReminderRun, error) {
	run := ReminderRun{Done: true}
	portals := map[string]clientele.Portal{}
	companies := map[string]clientele.Company{}
	deadline, hasDeadline := ctx.Deadline()
	seen := map[dynamo.Due]bool{}
	for shard := 0; shard < dynamo.ReminderShards; shard++ {
		// Paged by ExclusiveStartKey: a reminder moves its user's entry
		// past now, out of the range read, which leaves the position of the
		// next page where it was. A lagging index may show a user already
		// reminded in this run again: seen passes over it.
		var start map[string]string
		for {
			p, err := d.Store.DueReminders(ctx, shard, reminderPage, start)
			if err != nil {
				d.Log.ErrorContext(ctx, "reminders: index not read", "shard", shard, "error", err)
				return run, err
			}
			for _, due := range p.Items {
				if seen[due] {
					continue
				}
				if hasDeadline && time.Until(deadline) < reminderMargin {
					run.Done = false
					d.Log.InfoContext(ctx, "reminders: stopping at the deadline", "due", run.Due, "sent", run.Sent)
					return run, nil
				}
				seen[due] = true
				run.Due++
				switch err := d.remind(ctx, due, portals, companies); {
				case err == nil:
					run.Sent++
				case errors.Is(err, errNotDue):
					run.Skipped++
				default:
					run.Failed++
					d.Log.WarnContext(ctx, "reminder not sent", "portal", due.PortalID, "user", due.UserID, "error", err)
				}
			}
			if start = p.Next; start == nil {
				break
			}
		}
	}
	d.Log.InfoContext(ctx, "reminders: run finished", "due", run.Due, "sent", run.Sent, "skipped", run.Skipped, "failed", run.Failed)
	return run, nil
}

var errNotDue = errors.New("not due")

// remind sends one due user their reminder. A failed email is undone (the
// count, the gate) and tried again in an hour.
func (d Deps) remind(ctx context.Context, due dynamo.Due, portals map[string]clientele.Portal, companies map[string]clientele.Company) error {
	portal, ok := portals[due.PortalID]
	if !ok {
		var err error
		if portal, err = d.Store.GetPortal(ctx, due.PortalID); err != nil {
			return err
		}
		portals[due.PortalID] = portal
	}
	token, hash := auth.NewPortalToken(portal.ID)
	var company clientele.Company
	u, err := d.Store.Remind(ctx, portal.ID, due.UserID, hash, portal.InviteTTL(), func(u clientele.User) error {
		// Read before the reminder is written: after it, only the email
		// can fail, and that failure is undone.
		ck := portal.ID + "/" + u.CompanyID
		c, ok := companies[ck]
		if !ok {
			var err error
			if c, err = d.Store.GetCompany(ctx, portal.ID, u.CompanyID); err != nil {
				return err
			}
			companies[ck] = c
		}
		company = c
		return nil
	})
	if err != nil {
		switch clientele.ErrorCode(err) {
		case clientele.Conflict, clientele.Gated, clientele.NotFound:
			return errNotDue
		}
		return err
	}
	err = d.sendInvitation(ctx, d.APIBaseURL, dynamo.AddContext{Portal: portal, Company: company}, u, token)
	if err == nil {
		return nil
	}
	msg := "the reminder email could not be sent; it will be tried again"
	if err := d.Store.ReminderFailed(ctx, portal.ID, u.ID, *u.LastInvitedAt, msg); err != nil {
		d.Log.WarnContext(ctx, "reminder failure not recorded", "user", u.ID, "error", err)
	}
	return fmt.Errorf("send reminder: %w", err)
}
