package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// Invitation templates: one item each, listed by name on GSI1, names unique
// per portal (case-insensitively) through a guard item.
func templatePK(pid, id string) string          { return portalPrefix(pid) + "#TPL#" + id }
func templateNamePK(pid, nameKey string) string { return portalPrefix(pid) + "#TPLNAME#" + nameKey }
func templatesGSI1PK(pid string) string         { return portalPrefix(pid) + "#TEMPLATES" }

type templateItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Type      string `dynamodbav:"type"`
	GSI1PK    string `dynamodbav:"GSI1PK"`
	GSI1SK    string `dynamodbav:"GSI1SK"`
	ID        string `dynamodbav:"id"`
	Name      string `dynamodbav:"name"`
	Subject   string `dynamodbav:"subject"`
	Body      string `dynamodbav:"body"`
	CreatedAt string `dynamodbav:"createdAt"`
	UpdatedAt string `dynamodbav:"updatedAt"`
	Version   int    `dynamodbav:"version"`
}

func templateToItem(pid string, t clientele.InvitationTemplate) map[string]types.AttributeValue {
	item, _ := attributevalue.MarshalMap(templateItem{PK: templatePK(pid, t.ID), SK: skMeta, Type: "invitation_template",
		GSI1PK: templatesGSI1PK(pid), GSI1SK: clientele.NameKey(t.Name) + "#" + t.ID,
		ID: t.ID, Name: t.Name, Subject: t.Subject, Body: t.Body,
		CreatedAt: fmtTime(*t.CreatedAt), UpdatedAt: fmtTime(*t.UpdatedAt), Version: t.Version})
	return item
}

func templateFromItem(item map[string]types.AttributeValue) (clientele.InvitationTemplate, error) {
	var it templateItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.InvitationTemplate{}, fmt.Errorf("decode template: %w", err)
	}
	created, updated := parseTime(it.CreatedAt), parseTime(it.UpdatedAt)
	return clientele.InvitationTemplate{ID: it.ID, Name: it.Name, Subject: it.Subject, Body: it.Body,
		CreatedAt: &created, UpdatedAt: &updated, Version: it.Version}, nil
}

func templateNotFound() error {
	return clientele.Errorf(clientele.NotFound, "no such invitation template")
}

func (s *Store) templateGuard(pid string, t clientele.InvitationTemplate) txItem {
	return s.nameGuard(templateNamePK(pid, clientele.NameKey(t.Name)), "template_name", "templateId", t.ID, "an invitation template", t.Name)
}

// CreateTemplate writes a new template and reserves its name.
func (s *Store) CreateTemplate(ctx context.Context, pid string, t clientele.InvitationTemplate, rec *idempotency.Record) error {
	return s.transact(ctx, []txItem{
		s.put(templateToItem(pid, t), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "template id collision; retry"))),
		s.templateGuard(pid, t),
	}, rec)
}

// GetTemplate returns a portal's own template; one GetItem.
func (s *Store) GetTemplate(ctx context.Context, pid, id string) (clientele.InvitationTemplate, error) {
	item, err := s.getItem(ctx, templatePK(pid, id), skMeta)
	if err != nil || item == nil {
		return clientele.InvitationTemplate{}, orNotFound(err, templateNotFound())
	}
	return templateFromItem(item)
}

// ListTemplates returns a page of the portal's own templates by name.
func (s *Store) ListTemplates(ctx context.Context, pid string, limit int, start map[string]string) (Page[clientele.InvitationTemplate], error) {
	in := &dynamodb.QueryInput{IndexName: aws.String(gsi1), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(templatesGSI1PK(pid))}}
	return query(ctx, s, in, start, templateFromItem)
}

// UpdateTemplate reads the template, lets change compute the next one (it
// checks If-Match and validates) and writes it at the version read; a
// rename moves the name guard in the same transaction.
func (s *Store) UpdateTemplate(ctx context.Context, pid, id string, change func(cur clientele.InvitationTemplate) (clientele.InvitationTemplate, bool, error)) (clientele.InvitationTemplate, error) {
	return retry(ctx, func() (clientele.InvitationTemplate, error) {
		cur, err := s.GetTemplate(ctx, pid, id)
		if err != nil {
			return cur, err
		}
		next, changed, err := change(cur)
		if err != nil || !changed {
			return cur, err
		}
		now := s.Now()
		next.Version, next.UpdatedAt = cur.Version+1, &now
		items := []txItem{s.put(templateToItem(pid, next), "version = :v", map[string]types.AttributeValue{":v": num(cur.Version)}, failWith(errRetry))}
		if clientele.NameKey(next.Name) != clientele.NameKey(cur.Name) {
			items = append(items, s.templateGuard(pid, next), s.dropGuard(templateNamePK(pid, clientele.NameKey(cur.Name))))
		}
		return next, s.transact(ctx, items, nil)
	})
}

// DeleteTemplate deletes a template and frees its name, unless the portal
// uses it: a condition on the portal item in the same transaction, so a
// concurrent PATCH /v1/portal choosing it cannot be left pointing nowhere.
func (s *Store) DeleteTemplate(ctx context.Context, pid, id string, check func(clientele.InvitationTemplate) error) error {
	_, err := retry(ctx, func() (struct{}, error) {
		cur, err := s.GetTemplate(ctx, pid, id)
		if err != nil {
			return struct{}{}, err
		}
		if err := check(cur); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, s.transact(ctx, []txItem{
			s.del(key(templatePK(pid, id), skMeta), "version = :v", map[string]types.AttributeValue{":v": num(cur.Version)}, failWith(errRetry)),
			s.dropGuard(templateNamePK(pid, clientele.NameKey(cur.Name))),
			s.conditionCheck(key(portalPrefix(pid), skPortal), "attribute_not_exists(invitationTemplateId) OR invitationTemplateId <> :id",
				map[string]types.AttributeValue{":id": str(id)},
				failWith(clientele.TemplateInUse())),
		}, nil)
	})
	return err
}

// nameGuard reserves a name (pk is its guard key) for the item of that id;
// what names it ("a profile") words the conflict.
func (s *Store) nameGuard(pk, typ, idAttr, id, what, name string) txItem {
	g := key(pk, skGuard)
	g["type"], g[idAttr] = str(typ), str(id)
	return s.put(g, "attribute_not_exists(PK)", nil, failWith(&clientele.Error{Code: clientele.Conflict,
		Message: fmt.Sprintf("%s named %q already exists", what, name),
		Fields:  []clientele.FieldError{{Field: "name", Message: "is already taken (names are compared without case)"}}}))
}

// dropGuard frees the name whose guard key is pk.
func (s *Store) dropGuard(pk string) txItem { return s.del(key(pk, skGuard), "", nil, nil) }

// ReadAddContextTemplate reads the portal and the invitation template
// chosen for a re-invite (templateID; "" for the portal's choice, "default"
// for the built-in one) in one TransactGetItems: an AddContext without
// company or projects. An unknown template is 400 on field templateId,
// before anything is written.
func (s *Store) ReadAddContextTemplate(ctx context.Context, pid, templateID string) (AddContext, error) {
	keys := []map[string]types.AttributeValue{key(portalPrefix(pid), skPortal)}
	own := templateID != "" && templateID != clientele.DefaultTemplateID
	if own {
		keys = append(keys, key(templatePK(pid, templateID), skMeta))
	}
	got, err := s.getItems(ctx, keys...)
	if err != nil {
		return AddContext{}, err
	}
	ac := AddContext{Portal: clientele.DefaultPortal(pid)}
	if got[0] != nil {
		if ac.Portal, err = portalFromItem(pid, got[0]); err != nil {
			return ac, err
		}
	}
	switch {
	case own && got[1] == nil:
		return ac, clientele.UnknownTemplate("templateId")
	case own:
		t, err := templateFromItem(got[1])
		if err != nil {
			return ac, err
		}
		ac.Template = &t
	case templateID == clientele.DefaultTemplateID:
		ac.Template = &clientele.InvitationTemplate{ID: clientele.DefaultTemplateID, BuiltIn: true}
	}
	return ac, nil
}
