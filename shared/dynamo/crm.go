package dynamo

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// A CRM record is held by at most one entity of a portal: a guard item per
// record, written in the transaction that links it (like the name and
// address guards), names its holder.
const (
	CRMAccount = "A" // an account is held by a company
	CRMContact = "C" // a contact by a user
	CRMDeal    = "D" // a converted deal by a project
)

const skCRM = "CRM" // the portal's CRM connection, beside the portal item

func crmGuardPK(pid, kind, id string) string { return portalPrefix(pid) + "#CRM" + kind + "#" + id }

// crmHolder is the attribute of a guard naming its holder; crmGuardType
// the guard's item type.
var (
	crmHolder    = map[string]string{CRMAccount: "companyId", CRMContact: "userId", CRMDeal: "projectId"}
	crmGuardType = map[string]string{CRMAccount: "crm_account", CRMContact: "crm_contact", CRMDeal: "crm_deal"}
)

func crmAccountOf(l *clientele.CRMLink) string {
	if l == nil {
		return ""
	}
	return l.AccountID
}

func crmContactOf(l *clientele.CRMLink) string {
	if l == nil {
		return ""
	}
	return l.ContactID
}

// crmGuard reserves CRM record id of kind for holder; when the record is
// held already, taken receives its holder.
// The refusals of a record another entity holds, for crmGuard.
func accountLinked(cid string) error   { return clientele.AccountLinked{CompanyID: cid} }
func contactImported(uid string) error { return clientele.ContactImported{UserID: uid} }
func dealConverted(prid string) error  { return clientele.DealConverted{ProjectID: prid} }

func (s *Store) crmGuard(pid, kind, id, holder string, taken func(holder string) error) txItem {
	item := key(crmGuardPK(pid, kind, id), skGuard)
	item["type"], item[crmHolder[kind]] = str(crmGuardType[kind]), str(holder)
	return s.put(item, "attribute_not_exists(PK)", nil, func(old map[string]types.AttributeValue) error {
		return taken(sval(old, crmHolder[kind]))
	})
}

func (s *Store) crmUnguard(pid, kind, id string) txItem {
	return s.del(key(crmGuardPK(pid, kind, id), skGuard), "", nil, nil)
}

// CRMHolders returns, for each CRM record id of kind ("A", "C", "D") that
// an entity holds, the holder's id; one BatchGetItem per 100 ids (reads of
// guards, which decide nothing: every write checks its guard again).
func (s *Store) CRMHolders(ctx context.Context, pid, kind string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for chunk := range slices.Chunk(ids, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = key(crmGuardPK(pid, kind, id), skGuard)
		}
		for len(keys) > 0 {
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}})
			if err != nil {
				return nil, unavailable(err, "batch get")
			}
			for _, item := range res.Responses[s.table] {
				pk := sval(item, "PK")
				out[pk[len(crmGuardPK(pid, kind, "")):]] = sval(item, crmHolder[kind])
			}
			keys = res.UnprocessedKeys[s.table].Keys
		}
	}
	return out, nil
}

type crmConnectionItem struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Type        string `dynamodbav:"type"`
	Provider    string `dynamodbav:"provider"`
	APIDomain   string `dynamodbav:"apiDomain"`
	AccountsURL string `dynamodbav:"accountsUrl"`
	ClientID    string `dynamodbav:"clientId"`
	Sealed      []byte `dynamodbav:"sealed"`
	ConnectedAt string `dynamodbav:"connectedAt"`
	Version     int    `dynamodbav:"version"`
}

// crmConnection reads the portal's CRM connection, nil without one.
func (s *Store) crmConnection(ctx context.Context, pid string) (*clientele.CRMConnection, error) {
	item, err := s.getItem(ctx, portalPrefix(pid), skCRM)
	if err != nil || item == nil {
		return nil, err
	}
	var it crmConnectionItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode crm connection: %w", err)
	}
	return &clientele.CRMConnection{Provider: it.Provider, APIDomain: it.APIDomain, AccountsURL: it.AccountsURL,
		ClientID: it.ClientID, Sealed: it.Sealed, Status: clientele.Connected, ConnectedAt: parseTime(it.ConnectedAt),
		Version: it.Version}, nil
}

// GetCRMConnection returns the portal's CRM connection, NotFound without one.
func (s *Store) GetCRMConnection(ctx context.Context, pid string) (clientele.CRMConnection, error) {
	c, err := s.crmConnection(ctx, pid)
	if err == nil && c == nil {
		err = clientele.CRMNotConnected()
	}
	if err != nil {
		return clientele.CRMConnection{}, err
	}
	return *c, nil
}

// PutCRMConnection connects the portal to a CRM account, replacing any
// connection it had; check sees the current one first (nil when none: the
// If-Match). The links of companies and users stay: record ids of another
// account simply match nothing there.
func (s *Store) PutCRMConnection(ctx context.Context, pid string, c clientele.CRMConnection, check func(cur *clientele.CRMConnection) error) (clientele.CRMConnection, error) {
	return retry(ctx, func() (clientele.CRMConnection, error) {
		cur, err := s.crmConnection(ctx, pid)
		if err != nil {
			return c, err
		}
		if err := check(cur); err != nil {
			return c, err
		}
		cond, vals := "attribute_not_exists(PK)", map[string]types.AttributeValue(nil)
		c.Version = 1
		if cur != nil {
			cond, vals, c.Version = "version = :v", map[string]types.AttributeValue{":v": num(cur.Version)}, cur.Version+1
		}
		item, _ := attributevalue.MarshalMap(crmConnectionItem{PK: portalPrefix(pid), SK: skCRM, Type: "crm_connection",
			Provider: c.Provider, APIDomain: c.APIDomain, AccountsURL: c.AccountsURL, ClientID: c.ClientID,
			Sealed: c.Sealed, ConnectedAt: fmtTime(c.ConnectedAt), Version: c.Version})
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
			ConditionExpression: &cond, ExpressionAttributeValues: vals})
		if isConditionFailed(err) {
			return c, errRetry
		}
		return c, unavailable(err, "put")
	})
}

// DeleteCRMConnection disconnects the portal; check sees the connection
// first (If-Match). NotFound when not connected.
func (s *Store) DeleteCRMConnection(ctx context.Context, pid string, check func(clientele.CRMConnection) error) error {
	_, err := retry(ctx, func() (struct{}, error) {
		cur, err := s.GetCRMConnection(ctx, pid)
		if err != nil {
			return struct{}{}, err
		}
		if err := check(cur); err != nil {
			return struct{}{}, err
		}
		_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(portalPrefix(pid), skCRM),
			ConditionExpression: aws.String("version = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(cur.Version)}})
		if isConditionFailed(err) {
			return struct{}{}, errRetry
		}
		return struct{}{}, unavailable(err, "delete")
	})
	return err
}

// LinkCompany links company cid, which has no CRM account yet, to account
// accountID; AccountLinked when another company holds the account, Conflict
// when the company is linked to another account.
func (s *Store) LinkCompany(ctx context.Context, pid, cid, accountID string) (clientele.Company, error) {
	return retry(ctx, func() (clientele.Company, error) {
		c, err := s.GetCompany(ctx, pid, cid)
		if err != nil {
			return c, err
		}
		switch {
		case c.CRM != nil && c.CRM.AccountID == accountID:
			return c, nil
		case c.CRM != nil:
			return c, clientele.Errorf(clientele.Conflict, "a company named %q exists and is linked to another CRM account", c.Name)
		}
		c.CRM, c.Version, c.UpdatedAt = &clientele.CRMLink{AccountID: accountID}, c.Version+1, s.Now()
		return c, s.transact(ctx, []txItem{
			s.update(key(companyPK(pid, cid), skMeta), "SET crmAccountId = :a, version = :next, updatedAt = :now",
				"version = :v AND attribute_not_exists(deleting)", nil, map[string]types.AttributeValue{
					":a": str(accountID), ":next": num(c.Version), ":now": str(fmtTime(c.UpdatedAt)), ":v": num(c.Version - 1)},
				failWith(errRetry)),
			s.crmGuard(pid, CRMAccount, accountID, cid, accountLinked),
		}, nil)
	})
}

// ConvertDeal records the conversion of CRM deal dealID into a project,
// with company cid as a client of it, in one transaction with the deal's
// guard (so a deal converts once, whatever runs in parallel): newProject
// is created with cid as its primary client; otherwise cid joins project
// prid, as its primary client when it has none (the version condition
// makes that hold under concurrent conversions). It returns the project as
// written and whether cid is its primary client.
func (s *Store) ConvertDeal(ctx context.Context, pid, dealID string, newProject *clientele.Project, prid, cid string, actor clientele.Actor) (clientele.Project, bool, error) {
	type result struct {
		p       clientele.Project
		primary bool
	}
	r, err := retry(ctx, func() (result, error) {
		if newProject != nil {
			p := *newProject
			p.CompanyIDs = []string{cid}
			p.SetPrimary(&cid)
			p.CRM = &clientele.CRMLink{DealIDs: []string{dealID}}
			items := []txItem{
				s.put(projectToItem(pid, p), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "project id collision; retry"))),
				s.joinProjectItem(pid, cid, p.ID),
				s.history(companyPK(pid, cid), actor, clientele.CompanyProjectAdded, clientele.Changes{"projectId": {To: p.ID}, "primaryOf": {To: p.ID}}),
				s.crmGuard(pid, CRMDeal, dealID, p.ID, dealConverted),
			}
			return result{p, true}, s.transact(ctx, items, nil)
		}
		p, err := s.GetProject(ctx, pid, prid)
		if err != nil {
			return result{}, err
		}
		if p.CRM == nil {
			p.CRM = &clientele.CRMLink{}
		}
		if len(p.CRM.DealIDs) >= clientele.MaxDealsPerProject {
			return result{}, clientele.Errorf(clientele.Conflict, "a project can hold at most %d converted deals", clientele.MaxDealsPerProject)
		}
		now := s.Now()
		p.CRM.DealIDs = append(slices.Clone(p.CRM.DealIDs), dealID)
		slices.Sort(p.CRM.DealIDs)
		if p.HasCompany(cid) {
			// Already a client: the conversion only records the deal, under
			// the project's version so a concurrent removal is seen.
			items := []txItem{
				s.update(key(projectPK(pid, prid), skMeta), "ADD crmDealIds :d SET version = :next, updatedAt = :now",
					"version = :v AND attribute_not_exists(deleting)", nil, map[string]types.AttributeValue{
						":d": strSet(dealID), ":next": num(p.Version + 1), ":now": str(fmtTime(now)), ":v": num(p.Version)}, failWith(errRetry)),
				s.crmGuard(pid, CRMDeal, dealID, p.ID, dealConverted),
			}
			p.Version, p.UpdatedAt = p.Version+1, now
			return result{p, p.IsPrimary(cid)}, s.transact(ctx, items, nil)
		}
		if len(p.CompanyIDs) >= clientele.MaxCompaniesPerProject {
			return result{}, clientele.Errorf(clientele.Conflict, "a project can have at most %d companies", clientele.MaxCompaniesPerProject)
		}
		primary := p.PrimaryCompanyID == nil
		ch := clientele.Changes{"projectId": {To: p.ID}}
		if primary {
			ch["primaryOf"] = clientele.Change{To: p.ID}
		}
		items := []txItem{
			s.addCompanyToProjectItem(pid, p, cid, primary, now, dealID),
			s.joinProjectItem(pid, cid, p.ID),
			s.history(companyPK(pid, cid), actor, clientele.CompanyProjectAdded, ch),
			s.crmGuard(pid, CRMDeal, dealID, p.ID, dealConverted),
		}
		p.CompanyIDs = append(p.CompanyIDs, cid)
		slices.Sort(p.CompanyIDs)
		if primary {
			p.SetPrimary(&cid)
		}
		p.Version, p.UpdatedAt = p.Version+1, now
		return result{p, primary}, s.transact(ctx, items, nil)
	})
	return r.p, r.primary, err
}
