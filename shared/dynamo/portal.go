package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

type portalItem struct {
	PK                 string `dynamodbav:"PK"`
	SK                 string `dynamodbav:"SK"`
	Type               string `dynamodbav:"type"`
	Name               string `dynamodbav:"name"`
	ClientSeatLimit    *int   `dynamodbav:"clientSeatLimit,omitempty"`
	SeatsUsed          int    `dynamodbav:"seatsUsed"`
	NoAccessUserLimit  *int   `dynamodbav:"noAccessUserLimit,omitempty"`
	NoAccessUsed       int    `dynamodbav:"noAccessUsed"`
	InviteLinkTTLHours int    `dynamodbav:"inviteLinkTtlHours"`
	AppBaseURL         string `dynamodbav:"appBaseUrl,omitempty"`
	InvitationTemplate string `dynamodbav:"invitationTemplateId,omitempty"`
	CreatedAt          string `dynamodbav:"createdAt"`
	UpdatedAt          string `dynamodbav:"updatedAt"`
	Version            int    `dynamodbav:"version"`
}

// GetPortal returns the portal's settings, the defaults when never saved.
func (s *Store) GetPortal(ctx context.Context, pid string) (clientele.Portal, error) {
	item, err := s.getItem(ctx, portalPrefix(pid), skPortal)
	if err != nil || item == nil {
		return clientele.DefaultPortal(pid), err
	}
	return portalFromItem(pid, item)
}

func portalFromItem(pid string, item map[string]types.AttributeValue) (clientele.Portal, error) {
	var it portalItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.Portal{}, fmt.Errorf("decode portal: %w", err)
	}
	p := clientele.DefaultPortal(pid)
	created, updated := parseTime(it.CreatedAt), parseTime(it.UpdatedAt)
	p.SeatsUsed, p.NoAccessUsed, p.Version = it.SeatsUsed, it.NoAccessUsed, it.Version
	if it.Version > 0 { // else only users were counted: the settings were never saved
		p.CreatedAt, p.UpdatedAt = &created, &updated
	}
	if it.Name != "" {
		p.Name = it.Name
	}
	if it.InviteLinkTTLHours > 0 {
		p.InviteLinkTTLHours = it.InviteLinkTTLHours
	}
	p.ClientSeatLimit, p.NoAccessUserLimit, p.AppBaseURL = it.ClientSeatLimit, it.NoAccessUserLimit, it.AppBaseURL
	if it.InvitationTemplate != "" {
		p.InvitationTemplateID = it.InvitationTemplate
	}
	return p, nil
}

// UpdatePortal reads the settings, lets change compute the new ones (it checks
// If-Match and applies the patch) and writes them conditionally, redoing all
// of it when a concurrent write wins.
func (s *Store) UpdatePortal(ctx context.Context, pid string, change func(cur clientele.Portal) (clientele.Portal, clientele.Changes, error)) (clientele.Portal, error) {
	return retry(ctx, func() (clientele.Portal, error) {
		cur, err := s.GetPortal(ctx, pid)
		if err != nil {
			return cur, err
		}
		next, ch, err := change(cur)
		if err != nil || len(ch) == 0 {
			return cur, err
		}
		return s.savePortal(ctx, cur, next)
	})
}

// savePortal writes next over the settings read at version cur.Version. The
// user counters are never written here: they belong to the user writes, and
// a limit below its counter fails in the same condition, so a concurrent add
// cannot slip past a lowered limit.
func (s *Store) savePortal(ctx context.Context, cur, next clientele.Portal) (clientele.Portal, error) {
	now := s.Now()
	next.Version = cur.Version + 1
	next.UpdatedAt = &now
	if next.CreatedAt == nil {
		next.CreatedAt = &now
	}
	expr := "SET #type = :type, #name = :name, inviteLinkTtlHours = :ttl, createdAt = if_not_exists(createdAt, :now), " +
		"updatedAt = :now, version = :next, seatsUsed = if_not_exists(seatsUsed, :zero), noAccessUsed = if_not_exists(noAccessUsed, :zero), " +
		"invitationTemplateId = :tpl"
	vals := map[string]types.AttributeValue{
		":type": str("portal"), ":name": str(next.Name), ":ttl": num(next.InviteLinkTTLHours), ":tpl": str(next.InvitationTemplateID),
		":now": str(fmtTime(now)), ":next": num(next.Version), ":zero": num(0),
	}
	var remove, counted []string
	for _, l := range []struct {
		attr, counter, val string
		limit              *int
	}{
		{"clientSeatLimit", "seatsUsed", ":seats", next.ClientSeatLimit},
		{"noAccessUserLimit", "noAccessUsed", ":noAccess", next.NoAccessUserLimit},
	} {
		if l.limit == nil {
			remove = append(remove, l.attr)
			continue
		}
		expr += ", " + l.attr + " = " + l.val
		vals[l.val] = num(*l.limit)
		counted = append(counted, "(attribute_not_exists("+l.counter+") OR "+l.counter+" <= "+l.val+")")
	}
	if next.AppBaseURL != "" {
		expr += ", appBaseUrl = :url"
		vals[":url"] = str(next.AppBaseURL)
	} else {
		remove = append(remove, "appBaseUrl")
	}
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	cond := "version = :cur"
	vals[":cur"] = num(cur.Version)
	if cur.Version == 0 {
		cond = "attribute_not_exists(version)"
		delete(vals, ":cur")
	}
	if len(counted) > 0 {
		cond = "(" + cond + ") AND " + strings.Join(counted, " AND ")
	}
	item := s.update(key(portalPrefix(next.ID), skPortal), expr, cond,
		map[string]string{"#type": "type", "#name": "name"}, vals,
		func(old map[string]types.AttributeValue) error {
			if old == nil && cur.Version == 0 {
				return errRetry
			}
			p, err := portalFromItem(cur.ID, old)
			if err != nil {
				return err
			}
			if p.Version != cur.Version {
				return errRetry
			}
			q := next
			q.SeatsUsed, q.NoAccessUsed = p.SeatsUsed, p.NoAccessUsed
			if err := q.CheckCounts(); err != nil {
				return err
			}
			return errRetry
		})
	items := []txItem{item}
	if next.InvitationTemplateID != cur.InvitationTemplateID && next.InvitationTemplateID != clientele.DefaultTemplateID {
		// The template must exist when chosen; its delete checks the portal
		// in turn, so neither can leave the other dangling.
		items = append(items, s.conditionCheck(key(templatePK(next.ID, next.InvitationTemplateID), skMeta), "attribute_exists(PK)", nil,
			failWith(clientele.UnknownTemplate("invitationTemplateId"))))
	}
	if err := s.transact(ctx, items, nil); err != nil {
		return cur, err
	}
	next.SeatsUsed, next.NoAccessUsed = cur.SeatsUsed, cur.NoAccessUsed
	return next, nil
}
