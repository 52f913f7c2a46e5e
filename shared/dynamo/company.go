package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

type addressItem struct {
	Street     *string `dynamodbav:"street,omitempty"`
	City       *string `dynamodbav:"city,omitempty"`
	State      *string `dynamodbav:"state,omitempty"`
	PostalCode *string `dynamodbav:"postalCode,omitempty"`
	Country    *string `dynamodbav:"country,omitempty"`
}

type companyItem struct {
	PK              string       `dynamodbav:"PK"`
	SK              string       `dynamodbav:"SK"`
	Type            string       `dynamodbav:"type"`
	GSI1PK          string       `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK          string       `dynamodbav:"GSI1SK,omitempty"`
	ID              string       `dynamodbav:"id"`
	Name            string       `dynamodbav:"name"`
	NameKey         string       `dynamodbav:"nameKey"`
	CompanyType     string       `dynamodbav:"companyType"`
	ContactEmail    *string      `dynamodbav:"contactEmail,omitempty"`
	Website         *string      `dynamodbav:"website,omitempty"`
	Address         *addressItem `dynamodbav:"address,omitempty"`
	ProjectIDs      []string     `dynamodbav:"projectIds,stringset,omitempty"`
	CreateUserGroup bool         `dynamodbav:"createUserGroup"`
	UserCount       int          `dynamodbav:"userCount"`
	CreatedAt       string       `dynamodbav:"createdAt"`
	UpdatedAt       string       `dynamodbav:"updatedAt"`
	Version         int          `dynamodbav:"version"`
	Deleting        bool         `dynamodbav:"deleting,omitempty"`
	CRMAccountID    string       `dynamodbav:"crmAccountId,omitempty"`
}

func companyToItem(pid string, c clientele.Company) map[string]types.AttributeValue {
	k := clientele.NameKey(c.Name)
	item, _ := attributevalue.MarshalMap(companyItem{
		PK: companyPK(pid, c.ID), SK: skMeta, Type: "company",
		GSI1PK: companiesGSI1PK(pid), GSI1SK: k + "#" + c.ID,
		ID: c.ID, Name: c.Name, NameKey: k, CompanyType: c.Type, ContactEmail: c.ContactEmail, Website: c.Website,
		Address:    addressToItem(c.Address),
		ProjectIDs: nilIfEmpty(c.ProjectIDs), CreateUserGroup: c.CreateUserGroup, UserCount: c.UserCount,
		CreatedAt: fmtTime(c.CreatedAt), UpdatedAt: fmtTime(c.UpdatedAt), Version: c.Version,
		CRMAccountID: crmAccountOf(c.CRM),
	})
	return item
}

func companyFromItem(item map[string]types.AttributeValue) (clientele.Company, bool, error) {
	var it companyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.Company{}, false, fmt.Errorf("decode company: %w", err)
	}
	ids := slices.Clone(it.ProjectIDs)
	if ids == nil {
		ids = []string{}
	}
	slices.Sort(ids) // a string set has no order; ULIDs sort by creation
	var link *clientele.CRMLink
	if it.CRMAccountID != "" {
		link = &clientele.CRMLink{AccountID: it.CRMAccountID}
	}
	return clientele.Company{CRM: link,
		ID: it.ID, Name: it.Name, Type: it.CompanyType, ContactEmail: it.ContactEmail, Website: it.Website,
		Address: addressFromItem(it.Address), ProjectIDs: ids, CreateUserGroup: it.CreateUserGroup,
		UserCount: it.UserCount, CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt), Version: it.Version,
	}, it.Deleting, nil
}

// addressToItem returns nil for an empty address: DynamoDB keeps no empty maps.
func addressToItem(a clientele.Address) *addressItem {
	if a == (clientele.Address{}) {
		return nil
	}
	it := addressItem(a)
	return &it
}

func addressFromItem(a *addressItem) clientele.Address {
	if a == nil {
		return clientele.Address{}
	}
	return clientele.Address(*a)
}

func companyNotFound() error { return clientele.Errorf(clientele.NotFound, "no such company") }

// nameTaken is the failure of a name guard. DynamoDB returns the guard as it
// was (ALL_OLD) in the cancellation reasons, which names the company holding
// the name.
func nameTaken(name string) func(map[string]types.AttributeValue) error {
	return func(old map[string]types.AttributeValue) error {
		return clientele.CompanyNameTaken{Name: name, CompanyID: sval(old, "companyId")}
	}
}

// guardItem reserves a company name in the portal.
func (s *Store) guardItem(pid string, c clientele.Company) txItem {
	item := key(companyNamePK(pid, clientele.NameKey(c.Name)), skGuard)
	item["type"], item["companyId"] = str("company_name"), str(c.ID)
	return s.put(item, "attribute_not_exists(PK)", nil, nameTaken(c.Name))
}

// GetCompany returns a company; one strongly consistent GetItem.
func (s *Store) GetCompany(ctx context.Context, pid, cid string) (clientele.Company, error) {
	item, err := s.getItem(ctx, companyPK(pid, cid), skMeta)
	if err != nil {
		return clientele.Company{}, err
	}
	return companyOf(item)
}

// companyOf is the company of item as GetCompany answers it: NotFound when
// absent or being deleted.
func companyOf(item map[string]types.AttributeValue) (clientele.Company, error) {
	if item == nil {
		return clientele.Company{}, companyNotFound()
	}
	c, deleting, err := companyFromItem(item)
	if err == nil && deleting {
		err = companyNotFound()
	}
	return c, err
}

// ListCompanies returns a page of companies by name, optionally those whose
// name starts with prefix (case-insensitively); one Query on GSI1.
func (s *Store) ListCompanies(ctx context.Context, pid, prefix string, limit int, start map[string]string) (Page[clientele.Company], error) {
	in := &dynamodb.QueryInput{IndexName: aws.String(gsi1), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(companiesGSI1PK(pid))}}
	if k := clientele.NameKey(prefix); k != "" {
		in.KeyConditionExpression = aws.String("GSI1PK = :pk AND begins_with(GSI1SK, :prefix)")
		in.ExpressionAttributeValues[":prefix"] = str(k)
	}
	return query(ctx, s, in, start, func(item map[string]types.AttributeValue) (clientele.Company, error) {
		c, _, err := companyFromItem(item)
		return c, err
	})
}

// CompanyHistory returns a page of a company's history, newest first.
func (s *Store) CompanyHistory(ctx context.Context, pid, cid string, limit int, start map[string]string) (Page[clientele.HistoryEntry], error) {
	p, err := s.historyPage(ctx, companyPK(pid, cid), limit, start, func(item map[string]types.AttributeValue) bool {
		_, deleting, err := companyFromItem(item)
		return err == nil && !deleting
	})
	if clientele.ErrorCode(err) == clientele.NotFound {
		err = companyNotFound()
	}
	return p, err
}

// CreateCompany writes a new company, its name guard and its first history
// entry, and adds it to c.ProjectIDs (becoming the primary client of those
// without one), in one transaction.
func (s *Store) CreateCompany(ctx context.Context, pid string, c clientele.Company, actor clientele.Actor, rec *idempotency.Record) (clientele.Company, error) {
	return retry(ctx, func() (clientele.Company, error) {
		items := []txItem{
			s.put(companyToItem(pid, c), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "company id collision; retry"))),
			s.guardItem(pid, c),
		}
		if id := crmAccountOf(c.CRM); id != "" {
			items = append(items, s.crmGuard(pid, CRMAccount, id, c.ID, accountLinked))
		}
		projects, err := s.projectsForAdd(ctx, pid, c.ProjectIDs, "projectIds")
		if err != nil {
			return c, err
		}
		var primaryOf []string
		for _, p := range projects {
			primary := p.PrimaryCompanyID == nil
			if primary {
				primaryOf = append(primaryOf, p.ID)
			}
			items = append(items, s.addCompanyToProjectItem(pid, p, c.ID, primary, c.CreatedAt))
		}
		ch := createdChanges(c)
		if len(primaryOf) > 0 {
			ch.Record("primaryOf", nil, primaryOf)
		}
		items = append(items, s.history(companyPK(pid, c.ID), actor, clientele.CompanyCreated, ch))
		return c, s.transact(ctx, items, rec)
	})
}

// createdChanges lists the set fields of a new company as changes from nothing.
func createdChanges(c clientele.Company) clientele.Changes {
	ch := clientele.Changes{}
	ch.Record("name", nil, c.Name)
	ch.Record("type", nil, c.Type)
	ch.Record("contactEmail", nil, c.ContactEmail)
	ch.Record("website", nil, c.Website)
	if c.Address != (clientele.Address{}) {
		ch.Record("address", nil, c.Address)
	}
	if len(c.ProjectIDs) > 0 {
		ch.Record("projectIds", nil, c.ProjectIDs)
	}
	if c.CreateUserGroup {
		ch.Record("createUserGroup", nil, true)
	}
	return ch
}

// UpdateCompany reads the company, lets change compute the new one (checking
// If-Match, applying the patch) and writes it with its history entry; a
// rename moves the name guard in the same transaction.
func (s *Store) UpdateCompany(ctx context.Context, pid, cid string, actor clientele.Actor, change func(clientele.Company) (clientele.Company, clientele.Changes, error)) (clientele.Company, error) {
	return retry(ctx, func() (clientele.Company, error) {
		cur, err := s.GetCompany(ctx, pid, cid)
		if err != nil {
			return cur, err
		}
		next, ch, err := change(cur)
		if err != nil || len(ch) == 0 {
			return cur, err
		}
		next.Version, next.UpdatedAt = cur.Version+1, s.Now()
		oldKey, newKey := clientele.NameKey(cur.Name), clientele.NameKey(next.Name)
		expr := "SET #name = :name, nameKey = :key, GSI1SK = :gsk, companyType = :type, updatedAt = :now, version = :next"
		vals := map[string]types.AttributeValue{
			":name": str(next.Name), ":key": str(newKey), ":gsk": str(newKey + "#" + cid), ":type": str(next.Type),
			":now": str(fmtTime(next.UpdatedAt)), ":next": num(next.Version), ":cur": num(cur.Version),
		}
		var remove []string
		if a := addressToItem(next.Address); a == nil {
			remove = append(remove, "address")
		} else {
			expr += ", address = :addr"
			vals[":addr"], _ = attributevalue.Marshal(a)
		}
		for name, v := range map[string]*string{"contactEmail": next.ContactEmail, "website": next.Website} {
			if v == nil {
				remove = append(remove, name)
			} else {
				expr += ", " + name + " = :" + name
				vals[":"+name] = str(*v)
			}
		}
		if len(remove) > 0 {
			expr += " REMOVE " + strings.Join(remove, ", ")
		}
		items := []txItem{
			s.update(key(companyPK(pid, cid), skMeta), expr, "version = :cur AND attribute_not_exists(deleting)",
				map[string]string{"#name": "name"}, vals, failWith(errRetry)),
			s.history(companyPK(pid, cid), actor, clientele.CompanyUpdated, ch),
		}
		if oldKey != newKey {
			items = append(items,
				s.del(key(companyNamePK(pid, oldKey), skGuard), "companyId = :id", map[string]types.AttributeValue{":id": str(cid)}, failWith(errRetry)),
				s.guardItem(pid, next))
		}
		return next, s.transact(ctx, items, nil)
	})
}

// DeleteCompany deletes a company and everything that hangs off it, in
// bounded steps that each commit on their own: first the company is marked
// deleting (it leaves lists and reads at once), then its users are deleted
// (each in its own transaction), then it leaves its projects maxStep at a
// time, then its history goes, then the company and its name guard. Repeating the call after a failure resumes where it stopped.
// check sees the company before the first step (If-Match).
//
// deleted, when not nil, is called with each user deleted (to notify them).
func (s *Store) DeleteCompany(ctx context.Context, pid, cid string, actor clientele.Actor, check func(clientele.Company) error, deleted func(clientele.User)) error {
	pk := key(companyPK(pid, cid), skMeta)
	c, err := retry(ctx, func() (clientele.Company, error) {
		item, err := s.getItem(ctx, companyPK(pid, cid), skMeta)
		if err != nil || item == nil {
			return clientele.Company{}, orNotFound(err, companyNotFound())
		}
		c, deleting, err := companyFromItem(item)
		if err != nil || deleting {
			return c, err
		}
		if err := check(c); err != nil {
			return c, err
		}
		// Without its GSI1 keys it leaves the lists at once (a sparse index).
		return c, s.transact(ctx, []txItem{s.update(pk, "SET deleting = :t REMOVE GSI1PK, GSI1SK", "version = :v",
			nil, map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":v": num(c.Version)},
			failWith(errRetry))}, nil)
	})
	if err != nil {
		return err
	}
	// Its users first: none can be added once the company is marked.
	if err := s.deleteMembers(ctx, pid, cid, actor, deleted); err != nil {
		return err
	}
	// Re-read each step: nothing can join the company once it is marked, so
	// the list read after the mark is complete and only shrinks.
	for {
		more, err := retry(ctx, func() (bool, error) {
			item, err := s.getItem(ctx, companyPK(pid, cid), skMeta)
			if err != nil || item == nil {
				return false, err
			}
			cur, _, err := companyFromItem(item)
			if err != nil || len(cur.ProjectIDs) == 0 {
				return false, err
			}
			return true, s.leaveProjects(ctx, pid, cid, cur.ProjectIDs[:min(maxStep, len(cur.ProjectIDs))])
		})
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	if err := s.deleteHistory(ctx, companyPK(pid, cid)); err != nil {
		return err
	}
	gone := clientele.Changes{}
	gone.Record("name", c.Name, nil)
	items := []txItem{
		s.tombstone(companyPK(pid, cid), actor, clientele.CompanyDeleted, gone),
		// A concurrent delete that finished first leaves nothing to do.
		s.del(pk, "deleting = :t", map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}, failWith(nil)),
		// Unconditional: the company holds its name until this commits, and
		// if the company is already gone the whole transaction is void.
		s.del(key(companyNamePK(pid, clientele.NameKey(c.Name)), skGuard), "", nil, nil),
	}
	if id := crmAccountOf(c.CRM); id != "" {
		items = append(items, s.crmUnguard(pid, CRMAccount, id))
	}
	// Read after the mark, which no new link passes: the link found is the
	// last one.
	link, err := s.getItem(ctx, companyPK(pid, cid), skSignup)
	if err != nil {
		return err
	}
	if link != nil {
		l, err := signupFromItem(pid, link)
		if err != nil {
			return err
		}
		items = append(items, s.del(key(companyPK(pid, cid), skSignup), "", nil, nil), s.del(key(signupPK(pid, l.TokenHash), skMeta), "", nil, nil))
	}
	return s.transact(ctx, items, nil)
}

// leaveProjects is one step of a company delete: it takes company cid off
// the given projects (unsetting it as their primary) and off its own list.
func (s *Store) leaveProjects(ctx context.Context, pid, cid string, projectIDs []string) error {
	keys := make([]map[string]types.AttributeValue, len(projectIDs))
	for i, id := range projectIDs {
		keys[i] = key(projectPK(pid, id), skMeta)
	}
	got, err := s.getItems(ctx, keys...)
	if err != nil {
		return err
	}
	var items []txItem
	for _, item := range got {
		if item == nil {
			continue // already gone; only the company's list still names it
		}
		p, _, err := projectFromItem(item)
		if err != nil {
			return err
		}
		if p.HasCompany(cid) {
			items = append(items, s.removeCompanyFromProjectItem(pid, p, cid))
		}
	}
	items = append(items, s.update(key(companyPK(pid, cid), skMeta), "DELETE projectIds :ids", "attribute_exists(PK)",
		nil, map[string]types.AttributeValue{":ids": strSet(projectIDs...)}, nil))
	return s.transact(ctx, items, nil)
}

func orNotFound(err, notFound error) error {
	if err != nil {
		return err
	}
	return notFound
}
