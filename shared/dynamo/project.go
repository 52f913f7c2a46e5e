package dynamo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

type projectItem struct {
	PK               string   `dynamodbav:"PK"`
	SK               string   `dynamodbav:"SK"`
	Type             string   `dynamodbav:"type"`
	GSI1PK           string   `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK           string   `dynamodbav:"GSI1SK,omitempty"`
	ID               string   `dynamodbav:"id"`
	Name             string   `dynamodbav:"name"`
	Billing          string   `dynamodbav:"billing"`
	PrimaryCompanyID *string  `dynamodbav:"primaryCompanyId,omitempty"`
	CompanyIDs       []string `dynamodbav:"companyIds,stringset,omitempty"`
	CreatedAt        string   `dynamodbav:"createdAt"`
	UpdatedAt        string   `dynamodbav:"updatedAt"`
	Version          int      `dynamodbav:"version"`
	Deleting         bool     `dynamodbav:"deleting,omitempty"`
	CRMDealIDs       []string `dynamodbav:"crmDealIds,stringset,omitempty"`
}

func projectToItem(pid string, p clientele.Project) map[string]types.AttributeValue {
	it := projectItem{
		PK: projectPK(pid, p.ID), SK: skMeta, Type: "project", GSI1PK: projectsGSI1PK(pid), GSI1SK: p.ID,
		ID: p.ID, Name: p.Name, Billing: p.Billing, PrimaryCompanyID: p.PrimaryCompanyID, CompanyIDs: nilIfEmpty(p.CompanyIDs),
		CreatedAt: fmtTime(p.CreatedAt), UpdatedAt: fmtTime(p.UpdatedAt), Version: p.Version,
	}
	if p.CRM != nil {
		it.CRMDealIDs = nilIfEmpty(p.CRM.DealIDs)
	}
	item, _ := attributevalue.MarshalMap(it)
	return item
}

func projectFromItem(item map[string]types.AttributeValue) (clientele.Project, bool, error) {
	var it projectItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.Project{}, false, fmt.Errorf("decode project: %w", err)
	}
	ids := slices.Clone(it.CompanyIDs)
	if ids == nil {
		ids = []string{}
	}
	slices.Sort(ids)
	p := clientele.Project{ID: it.ID, Name: it.Name, Billing: it.Billing, CompanyIDs: ids,
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt), Version: it.Version}
	p.SetPrimary(it.PrimaryCompanyID)
	if len(it.CRMDealIDs) > 0 {
		p.CRM = &clientele.CRMLink{DealIDs: slices.Sorted(slices.Values(it.CRMDealIDs))}
	}
	return p, it.Deleting, nil
}

func projectNotFound() error { return clientele.Errorf(clientele.NotFound, "no such project") }

// GetProject returns a project; one strongly consistent GetItem.
func (s *Store) GetProject(ctx context.Context, pid, prid string) (clientele.Project, error) {
	item, err := s.getItem(ctx, projectPK(pid, prid), skMeta)
	if err != nil || item == nil {
		return clientele.Project{}, orNotFound(err, projectNotFound())
	}
	p, deleting, err := projectFromItem(item)
	if err == nil && deleting {
		err = projectNotFound()
	}
	return p, err
}

// ListProjects returns a page of projects, oldest first; one Query on GSI1.
func (s *Store) ListProjects(ctx context.Context, pid string, limit int, start map[string]string) (Page[clientele.Project], error) {
	return query(ctx, s, &dynamodb.QueryInput{IndexName: aws.String(gsi1), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(projectsGSI1PK(pid))},
	}, start, func(item map[string]types.AttributeValue) (clientele.Project, error) {
		p, _, err := projectFromItem(item)
		return p, err
	})
}

// projectsForAdd reads the projects a new company joins; one
// TransactGetItems. A missing one refuses the write (clientele.Unknown).
func (s *Store) projectsForAdd(ctx context.Context, pid string, ids []string, field string) ([]clientele.Project, error) {
	found, err := s.ReadProjects(ctx, pid, ids)
	if err != nil {
		return nil, err
	}
	var f clientele.Fields
	clientele.Unknown(&f, field, "project", ids, found)
	if err := f.Err(); err != nil {
		return nil, err
	}
	out := make([]clientele.Project, len(ids))
	for i, id := range ids {
		out[i] = found[id]
	}
	return out, nil
}

// companiesForAdd checks that the companies joining a new project exist
// and are not being deleted; one TransactGetItems.
func (s *Store) companiesForAdd(ctx context.Context, pid string, ids []string, field string) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(companyPK(pid, id), skMeta)
	}
	got, err := s.getItems(ctx, keys...)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for i, item := range got {
		if item == nil {
			continue
		}
		_, deleting, err := companyFromItem(item)
		if err != nil {
			return err
		}
		if !deleting {
			live[ids[i]] = true
		}
	}
	var f clientele.Fields
	clientele.Unknown(&f, field, "company", ids, live)
	return f.Err()
}

// addCompanyToProjectItem adds company cid to project p as read at its
// version, optionally as its primary client, with the CRM deals converted
// into it by this change.
func (s *Store) addCompanyToProjectItem(pid string, p clientele.Project, cid string, primary bool, now time.Time, deals ...string) txItem {
	expr := "ADD companyIds :c SET version = :next, updatedAt = :now"
	vals := map[string]types.AttributeValue{":c": strSet(cid), ":next": num(p.Version + 1), ":now": str(fmtTime(now)), ":v": num(p.Version)}
	if len(deals) > 0 {
		expr = "ADD companyIds :c, crmDealIds :d SET version = :next, updatedAt = :now"
		vals[":d"] = strSet(deals...)
	}
	if primary {
		expr += ", primaryCompanyId = :id"
		vals[":id"] = str(cid)
	}
	return s.update(key(projectPK(pid, p.ID), skMeta), expr, "version = :v AND attribute_not_exists(deleting)", nil, vals, failWith(errRetry))
}

// removeCompanyFromProjectItem takes company cid off project p as read at
// its version, leaving it without a primary when cid was primary.
func (s *Store) removeCompanyFromProjectItem(pid string, p clientele.Project, cid string) txItem {
	expr := "DELETE companyIds :c SET version = :next, updatedAt = :now"
	vals := map[string]types.AttributeValue{":c": strSet(cid), ":next": num(p.Version + 1), ":now": str(fmtTime(s.Now())), ":v": num(p.Version)}
	if p.IsPrimary(cid) {
		expr += " REMOVE primaryCompanyId"
	}
	return s.update(key(projectPK(pid, p.ID), skMeta), expr, "version = :v", nil, vals, failWith(errRetry))
}

// joinProjectItem adds project prid to company cid's list. The company must
// exist and not be being deleted.
func (s *Store) joinProjectItem(pid, cid, prid string) txItem {
	return s.update(key(companyPK(pid, cid), skMeta), "ADD projectIds :p", "attribute_exists(PK) AND attribute_not_exists(deleting)",
		nil, map[string]types.AttributeValue{":p": strSet(prid)}, failWith(errRetry))
}

// CreateProject writes a new project on the companies it names, with a
// history entry for each company, in one transaction.
func (s *Store) CreateProject(ctx context.Context, pid string, p clientele.Project, actor clientele.Actor, rec *idempotency.Record) (clientele.Project, error) {
	return retry(ctx, func() (clientele.Project, error) {
		if err := s.companiesForAdd(ctx, pid, p.CompanyIDs, "companyIds"); err != nil {
			return p, err
		}
		items := []txItem{s.put(projectToItem(pid, p), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "project id collision; retry")))}
		for _, cid := range p.CompanyIDs {
			ch := clientele.Changes{}
			ch.Record("projectId", nil, p.ID)
			items = append(items, s.joinProjectItem(pid, cid, p.ID), s.history(companyPK(pid, cid), actor, clientele.CompanyProjectAdded, ch))
			if p.IsPrimary(cid) {
				items[len(items)-1] = s.history(companyPK(pid, cid), actor, clientele.CompanyProjectAdded, clientele.Changes{
					"projectId": {To: p.ID}, "primaryOf": {To: p.ID}})
			}
		}
		return p, s.transact(ctx, items, rec)
	})
}

// UpdateProject reads the project, lets change compute the new one and writes
// it under a version condition.
func (s *Store) UpdateProject(ctx context.Context, pid, prid string, change func(clientele.Project) (clientele.Project, clientele.Changes, error)) (clientele.Project, error) {
	return retry(ctx, func() (clientele.Project, error) {
		cur, err := s.GetProject(ctx, pid, prid)
		if err != nil {
			return cur, err
		}
		next, ch, err := change(cur)
		if err != nil || len(ch) == 0 {
			return cur, err
		}
		next.Version, next.UpdatedAt = cur.Version+1, s.Now()
		return next, s.transact(ctx, []txItem{s.update(key(projectPK(pid, prid), skMeta),
			"SET #name = :name, billing = :billing, updatedAt = :now, version = :next",
			"version = :v AND attribute_not_exists(deleting)", map[string]string{"#name": "name"},
			map[string]types.AttributeValue{":name": str(next.Name), ":billing": str(next.Billing),
				":now": str(fmtTime(next.UpdatedAt)), ":next": num(next.Version), ":v": num(cur.Version)},
			failWith(errRetry))}, nil)
	})
}

// AddCompany adds a company to a project: an existing one (cid) or a new one
// (created in the same transaction). primary nil means "primary if the
// project has none". It returns the project and company as written.
//
// record, when not nil, renders the answer for the idempotency record that
// commits with the change.
func (s *Store) AddCompany(ctx context.Context, pid, prid string, cid string, created *clientele.Company, primary *bool, actor clientele.Actor, record func(clientele.Project, clientele.Company) *idempotency.Record) (clientele.Project, clientele.Company, error) {
	type result struct {
		p clientele.Project
		c clientele.Company
	}
	r, err := retry(ctx, func() (result, error) {
		keys := []map[string]types.AttributeValue{key(projectPK(pid, prid), skMeta)}
		if created == nil {
			keys = append(keys, key(companyPK(pid, cid), skMeta))
		}
		got, err := s.getItems(ctx, keys...)
		if err != nil {
			return result{}, err
		}
		if got[0] == nil {
			return result{}, projectNotFound()
		}
		p, deleting, err := projectFromItem(got[0])
		if err != nil || deleting {
			return result{}, orNotFound(err, projectNotFound())
		}
		var c clientele.Company
		var items []txItem
		if created != nil {
			c = *created
			c.ProjectIDs = []string{prid}
			items = append(items,
				s.put(companyToItem(pid, c), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "company id collision; retry"))),
				s.guardItem(pid, c))
		} else {
			if got[1] == nil {
				return result{}, companyNotFound()
			}
			c, deleting, err = companyFromItem(got[1])
			if err != nil || deleting {
				return result{}, orNotFound(err, companyNotFound())
			}
			if p.HasCompany(cid) {
				return result{}, clientele.Errorf(clientele.Conflict, "the company is already on this project")
			}
			c.ProjectIDs = append(c.ProjectIDs, prid)
			slices.Sort(c.ProjectIDs)
			items = append(items, s.joinProjectItem(pid, c.ID, prid))
		}
		if len(p.CompanyIDs) >= clientele.MaxCompaniesPerProject {
			return result{}, clientele.Errorf(clientele.Conflict, "a project can have at most %d companies", clientele.MaxCompaniesPerProject)
		}
		makePrimary := p.PrimaryCompanyID == nil
		if primary != nil {
			makePrimary = *primary
		}
		previous := p.PrimaryCompanyID
		now := s.Now()
		items = append(items, s.addCompanyToProjectItem(pid, p, c.ID, makePrimary, now))
		ch := clientele.Changes{}
		if created != nil {
			ch = createdChanges(c)
		}
		ch.Record("projectId", nil, prid)
		if makePrimary {
			ch.Record("primaryOf", nil, prid)
			if previous != nil {
				items = append(items, s.history(companyPK(pid, *previous), actor, clientele.CompanyPrimaryUnset, clientele.Changes{"primaryOf": {From: prid}}))
			}
		}
		action := clientele.CompanyProjectAdded
		if created != nil {
			action = clientele.CompanyCreated
		}
		items = append(items, s.history(companyPK(pid, c.ID), actor, action, ch))
		p.CompanyIDs = append(p.CompanyIDs, c.ID)
		slices.Sort(p.CompanyIDs)
		if makePrimary {
			p.SetPrimary(&c.ID)
		}
		p.Version++
		p.UpdatedAt = now
		var rec *idempotency.Record
		if record != nil {
			rec = record(p, c)
		}
		return result{p, c}, s.transact(ctx, items, rec)
	})
	return r.p, r.c, err
}

// SetPrimary makes company cid, which must be on the project, its primary
// client. check sees the project first (If-Match).
func (s *Store) SetPrimary(ctx context.Context, pid, prid, cid string, actor clientele.Actor, check func(clientele.Project) error) (clientele.Project, error) {
	return retry(ctx, func() (clientele.Project, error) {
		p, err := s.GetProject(ctx, pid, prid)
		if err != nil {
			return p, err
		}
		if err := check(p); err != nil {
			return p, err
		}
		if !p.HasCompany(cid) {
			return p, clientele.Errorf(clientele.Conflict, "the company is not on this project; add it first")
		}
		if p.IsPrimary(cid) {
			return p, nil
		}
		now := s.Now()
		items := []txItem{
			s.update(key(projectPK(pid, prid), skMeta), "SET primaryCompanyId = :c, version = :next, updatedAt = :now",
				"version = :v AND attribute_not_exists(deleting)", nil,
				map[string]types.AttributeValue{":c": str(cid), ":next": num(p.Version + 1), ":now": str(fmtTime(now)), ":v": num(p.Version)},
				failWith(errRetry)),
			s.history(companyPK(pid, cid), actor, clientele.CompanyPrimarySet, clientele.Changes{"primaryOf": {To: prid}}),
		}
		if p.PrimaryCompanyID != nil {
			items = append(items, s.history(companyPK(pid, *p.PrimaryCompanyID), actor, clientele.CompanyPrimaryUnset, clientele.Changes{"primaryOf": {From: prid}}))
		}
		p.SetPrimary(&cid)
		p.Version++
		p.UpdatedAt = now
		return p, s.transact(ctx, items, nil)
	})
}

// RemoveCompany takes company cid off the project; if it was the primary
// client the project is left without one (not invoiceable) rather than
// silently billing someone else.
//
// The company's users leave the project first (repeatable), then the
// association goes, then a second sweep takes any user who joined in between.
func (s *Store) RemoveCompany(ctx context.Context, pid, prid, cid string, actor clientele.Actor, check func(clientele.Project) error) error {
	p, err := s.GetProject(ctx, pid, prid)
	if err != nil {
		return err
	}
	if err := check(p); err != nil {
		return err
	}
	if !p.HasCompany(cid) {
		// A DELETE repeated after a failure in its last step finds the
		// company gone with the final sweep undone: finish it first.
		if err := s.sweepProject(ctx, pid, prid, cid, actor); err != nil {
			return err
		}
		return clientele.Errorf(clientele.NotFound, "the company is not on this project")
	}
	if err := s.sweepProject(ctx, pid, prid, cid, actor); err != nil {
		return err
	}
	_, err = retry(ctx, func() (struct{}, error) {
		p, err := s.GetProject(ctx, pid, prid)
		if err != nil {
			return struct{}{}, err
		}
		if err := check(p); err != nil {
			return struct{}{}, err
		}
		if !p.HasCompany(cid) {
			return struct{}{}, clientele.Errorf(clientele.NotFound, "the company is not on this project")
		}
		ch := clientele.Changes{"projectId": {From: prid}}
		if p.IsPrimary(cid) {
			ch["primaryOf"] = clientele.Change{From: prid}
		}
		return struct{}{}, s.transact(ctx, []txItem{
			s.removeCompanyFromProjectItem(pid, p, cid),
			s.update(key(companyPK(pid, cid), skMeta), "DELETE projectIds :p", "attribute_exists(PK)",
				nil, map[string]types.AttributeValue{":p": strSet(prid)}, failWith(errRetry)),
			s.history(companyPK(pid, cid), actor, clientele.CompanyProjectRemoved, ch),
		}, nil)
	})
	if err != nil {
		return err
	}
	return s.sweepProject(ctx, pid, prid, cid, actor)
}

// DeleteProject deletes a project in bounded, repeatable steps like
// DeleteCompany: mark it deleting (it leaves lists and reads), take it off
// its companies maxStep at a time, then delete it.
func (s *Store) DeleteProject(ctx context.Context, pid, prid string, actor clientele.Actor, check func(clientele.Project) error) error {
	pk := key(projectPK(pid, prid), skMeta)
	swept := false
	for marked := false; ; {
		more, err := retry(ctx, func() (bool, error) {
			item, err := s.getItem(ctx, projectPK(pid, prid), skMeta)
			if err != nil || item == nil {
				if !marked {
					err = orNotFound(err, projectNotFound())
				}
				return false, err
			}
			p, deleting, err := projectFromItem(item)
			if err != nil {
				return false, err
			}
			if !deleting {
				if err := check(p); err != nil {
					return false, err
				}
				// Without its GSI1 keys it leaves the lists at once.
				return true, s.transact(ctx, []txItem{s.update(pk, "SET deleting = :t, version = :next REMOVE GSI1PK, GSI1SK", "version = :v", nil,
					map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":next": num(p.Version + 1), ":v": num(p.Version)},
					failWith(errRetry))}, nil)
			}
			// Members leave first: none can join once the project is marked.
			if !swept {
				if err := s.sweepProject(ctx, pid, prid, "", actor); err != nil {
					return false, err
				}
				swept = true
			}
			if len(p.CompanyIDs) == 0 {
				// The deals it holds can be converted again.
				items := []txItem{s.del(pk, "deleting = :t", map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}, failWith(nil))}
				if p.CRM != nil {
					for _, d := range p.CRM.DealIDs {
						items = append(items, s.crmUnguard(pid, CRMDeal, d))
					}
				}
				return false, s.transact(ctx, items, nil)
			}
			return true, s.leaveCompanies(ctx, pid, p, p.CompanyIDs[:min(maxStep, len(p.CompanyIDs))], actor)
		})
		if err != nil || !more {
			return err
		}
		marked = true
	}
}

// leaveCompanies is one step of a project delete: the project leaves the
// given companies, each with a history entry.
func (s *Store) leaveCompanies(ctx context.Context, pid string, p clientele.Project, cids []string, actor clientele.Actor) error {
	expr := "DELETE companyIds :c SET version = :next"
	vals := map[string]types.AttributeValue{":c": strSet(cids...), ":next": num(p.Version + 1), ":v": num(p.Version)}
	if p.PrimaryCompanyID != nil && slices.Contains(cids, *p.PrimaryCompanyID) {
		expr += " REMOVE primaryCompanyId"
	}
	items := []txItem{s.update(key(projectPK(pid, p.ID), skMeta), expr, "version = :v", nil, vals, failWith(errRetry))}
	for _, cid := range cids {
		ch := clientele.Changes{"projectId": {From: p.ID}}
		if p.IsPrimary(cid) {
			ch["primaryOf"] = clientele.Change{From: p.ID}
		}
		// The company may be mid-delete itself; it takes itself off this
		// project then, so a missing company just needs no update.
		items = append(items,
			s.update(key(companyPK(pid, cid), skMeta), "DELETE projectIds :p", "attribute_exists(PK)", nil,
				map[string]types.AttributeValue{":p": strSet(p.ID)}, failWith(errRetry)),
			s.history(companyPK(pid, cid), actor, clientele.CompanyProjectRemoved, ch))
	}
	return s.transact(ctx, items, nil)
}
