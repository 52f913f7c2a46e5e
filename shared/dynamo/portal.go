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
	p.SeatsUsed, p.Version = it.SeatsUsed, it.Version
	if it.Version > 0 { // else only seats were counted: the settings were never saved
		p.CreatedAt, p.UpdatedAt = &created, &updated
	}
	if it.Name != "" {
		p.Name = it.Name
	}
	if it.InviteLinkTTLHours > 0 {
		p.InviteLinkTTLHours = it.InviteLinkTTLHours
	}
	p.ClientSeatLimit, p.AppBaseURL = it.ClientSeatLimit, it.AppBaseURL
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
// seat counter is never written here: it belongs to the user writes, and a
// limit below it fails in the same condition, so a concurrent add cannot
// slip past a lowered limit.
func (s *Store) savePortal(ctx context.Context, cur, next clientele.Portal) (clientele.Portal, error) {
	now := s.Now()
	next.Version = cur.Version + 1
	next.UpdatedAt = &now
	if next.CreatedAt == nil {
		next.CreatedAt = &now
	}
	expr := "SET #type = :type, #name = :name, inviteLinkTtlHours = :ttl, createdAt = if_not_exists(createdAt, :now), " +
		"updatedAt = :now, version = :next, seatsUsed = if_not_exists(seatsUsed, :zero), invitationTemplateId = :tpl"
	vals := map[string]types.AttributeValue{
		":type": str("portal"), ":name": str(next.Name), ":ttl": num(next.InviteLinkTTLHours), ":tpl": str(next.InvitationTemplateID),
		":now": str(fmtTime(now)), ":next": num(next.Version), ":zero": num(0),
	}
	var remove []string
	if next.ClientSeatLimit != nil {
		expr += ", clientSeatLimit = :limit"
		vals[":limit"] = num(*next.ClientSeatLimit)
	} else {
		remove = append(remove, "clientSeatLimit")
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
	if next.ClientSeatLimit != nil {
		cond = "(" + cond + ") AND (attribute_not_exists(seatsUsed) OR seatsUsed <= :limit)"
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
			return &clientele.Error{Code: clientele.Conflict,
				Message: "clientSeatLimit is below the seats in use; deactivate users first",
				Extra:   map[string]any{"seatsUsed": p.SeatsUsed}}
		})
	items := []txItem{item}
	if next.InvitationTemplateID != cur.InvitationTemplateID && next.InvitationTemplateID != clientele.DefaultTemplateID {
		// The template must exist when chosen; its delete checks the portal
		// in turn, so neither can leave the other dangling.
		items = append(items, s.conditionCheck(key(templatePK(next.ID, next.InvitationTemplateID), skMeta), "attribute_exists(PK)", nil,
			failWith(&clientele.Error{Code: clientele.Invalid, Message: "the request has invalid fields",
				Fields: []clientele.FieldError{{Field: "invitationTemplateId", Message: "no such invitation template"}}})))
	}
	if err := s.transact(ctx, items, nil); err != nil {
		return cur, err
	}
	next.SeatsUsed = cur.SeatsUsed
	return next, nil
}
