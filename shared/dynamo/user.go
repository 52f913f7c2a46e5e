package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

// Keys of users.
func userPK(pid, uid string) string         { return portalPrefix(pid) + "#U#" + uid }
func emailPK(pid, emailKey string) string   { return portalPrefix(pid) + "#EMAIL#" + emailKey }
func invitePK(pid, tokenHash string) string { return portalPrefix(pid) + "#INVITE#" + tokenHash }
func usersGSI1PK(pid string) string         { return portalPrefix(pid) + "#USERS" }

// Sort keys of user-related items.
const (
	skInvite = "INVITE"
	// skMember prefixes a membership (a full copy of the user, with index
	// keys of its company's or project's lists) in the company's or
	// project's partition. "U#" sorts after "META", outside history ranges.
	skMember = "U#"
	// skName prefixes a name copy of a user, in the user's own partition
	// ("N#" sorts after "META": outside the history range).
	skName = "N#"
)

// Scopes of user lists: the portal, a company, a project.
func companyUsersPK(pid, cid string) string  { return portalPrefix(pid) + "#C#" + cid + "#USERS" }
func projectUsersPK(pid, prid string) string { return portalPrefix(pid) + "#PR#" + prid + "#USERS" }

type userProjectItem struct {
	ProjectID   string   `dynamodbav:"projectId"`
	RatePerHour *float64 `dynamodbav:"ratePerHour"`
	CostPerHour *float64 `dynamodbav:"costPerHour,omitempty"`
	// Permissions is the customization as JSON; absent without one.
	Permissions *string `dynamodbav:"permissions,omitempty"`
}

type userItem struct {
	PK              string            `dynamodbav:"PK"`
	SK              string            `dynamodbav:"SK"`
	Type            string            `dynamodbav:"type"`
	GSI1PK          string            `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK          string            `dynamodbav:"GSI1SK,omitempty"`
	GSI2PK          string            `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK          string            `dynamodbav:"GSI2SK,omitempty"`
	GSI3PK          string            `dynamodbav:"GSI3PK"`
	GSI3SK          string            `dynamodbav:"GSI3SK"`
	GSI4PK          string            `dynamodbav:"GSI4PK"`
	GSI4SK          string            `dynamodbav:"GSI4SK"`
	ID              string            `dynamodbav:"id"`
	Email           string            `dynamodbav:"email"`
	EmailKey        string            `dynamodbav:"emailKey"`
	Name            *string           `dynamodbav:"name"`
	Title           *string           `dynamodbav:"title"`
	CompanyID       string            `dynamodbav:"companyId"`
	ProfileID       string            `dynamodbav:"profileId"`
	Status          string            `dynamodbav:"status"`
	PortalAccess    bool              `dynamodbav:"portalAccess"`
	PortalRate      *float64          `dynamodbav:"portalRate"`
	Projects        []userProjectItem `dynamodbav:"projects,omitempty"`
	InvitedAt       *string           `dynamodbav:"invitedAt"`
	LastInvitedAt   *string           `dynamodbav:"lastInvitedAt"`
	AcceptedAt      *string           `dynamodbav:"acceptedAt"`
	InviteExpiresAt *string           `dynamodbav:"inviteExpiresAt"`
	RemindersSent   int               `dynamodbav:"remindersSent"`
	RemindAt        *string           `dynamodbav:"remindAt"`
	InviteError     *string           `dynamodbav:"inviteError"`
	InviteTokenHash *string           `dynamodbav:"inviteTokenHash"`
	Delivery        *deliveryItem     `dynamodbav:"delivery,omitempty"`
	DateFormat      string            `dynamodbav:"dateFormat,omitempty"`
	DateSeparator   string            `dynamodbav:"dateSeparator,omitempty"`
	TimeFormat      string            `dynamodbav:"timeFormat,omitempty"`
	CRMContactID    string            `dynamodbav:"crmContactId,omitempty"`
	RoleIDs         []string          `dynamodbav:"roleIds,stringset,omitempty"`
	CreatedAt       string            `dynamodbav:"createdAt"`
	UpdatedAt       string            `dynamodbav:"updatedAt"`
	Version         int               `dynamodbav:"version"`
}

// deliveryItem is SES's last report on a user's invitation.
type deliveryItem struct {
	State     string `dynamodbav:"state"`
	At        string `dynamodbav:"at"`
	Detail    string `dynamodbav:"detail"`
	MessageID string `dynamodbav:"messageId"`
}

func toDeliveryItem(d *clientele.Delivery) *deliveryItem {
	if d == nil {
		return nil
	}
	return &deliveryItem{State: d.State, At: fmtTime(d.At), Detail: d.Detail, MessageID: d.MessageID}
}

func fromDeliveryItem(d *deliveryItem) *clientele.Delivery {
	if d == nil {
		return nil
	}
	return &clientele.Delivery{State: d.State, At: parseTime(d.At), Detail: d.Detail, MessageID: d.MessageID}
}

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := fmtTime(*t)
	return &s
}

func parseOptTime(s *string) *time.Time {
	if s == nil || *s == "" {
		return nil
	}
	t := parseTime(*s)
	return &t
}

// userSortKey orders user lists by address; the id keeps keys unique.
func userSortKey(u clientele.User) string { return clientele.EmailKey(u.Email) + "#" + u.ID }

func userToItem(pid string, u clientele.User) map[string]types.AttributeValue {
	item := userCopy(pid, u, userPK(pid, u.ID), skMeta, "user", usersGSI1PK(pid), false)
	if due := u.RemindDue(); due != nil {
		// Only the user item is in the reminder index (never its copies).
		item[gsi5PK], item[gsi5SK] = str(reminderShard(u.ID)), str(fmtTime(*due))
	}
	return item
}

// Search terms: an address copy and a name copy share one search partition
// per scope (GSI3: all statuses, GSI4: one), sorted by term, so a prefix
// finds users by address or by name in one Query.
const (
	termEmail = "e"
	termName  = "n"
)

// userCopy is the user as stored at pk/sk for scope. An address copy (the
// user item and its company and project copies) is listed in the scope's
// lists (GSI1 all statuses, GSI2 one) and searchable by address; a name copy
// only searchable by name.
func userCopy(pid string, u clientele.User, pk, sk, typ, scope string, byName bool) map[string]types.AttributeValue {
	term, kind := clientele.EmailKey(u.Email), termEmail
	if byName {
		term, kind = clientele.NameKey(*u.Name), termName
	}
	search := term + "#" + u.ID + "#" + kind
	it := userItem{
		PK: pk, SK: sk, Type: typ,
		GSI3PK: scope + "#Q", GSI3SK: search, GSI4PK: scope + "#Q#" + u.Status, GSI4SK: search,
		InviteTokenHash: u.InviteTokenHash,
		ID:              u.ID, Email: u.Email, EmailKey: clientele.EmailKey(u.Email), Name: u.Name, Title: u.Title,
		CompanyID: u.CompanyID, ProfileID: u.ProfileID, Status: u.Status, PortalAccess: u.PortalAccess, PortalRate: u.PortalRate,
		InvitedAt: optTime(u.InvitedAt), LastInvitedAt: optTime(u.LastInvitedAt), AcceptedAt: optTime(u.AcceptedAt),
		InviteExpiresAt: optTime(u.InviteExpiresAt), RemindersSent: u.RemindersSent, InviteError: u.InviteError,
		RemindAt: optTime(u.RemindAt), Delivery: toDeliveryItem(u.Delivery),
		CreatedAt: fmtTime(u.CreatedAt), UpdatedAt: fmtTime(u.UpdatedAt), Version: u.Version,
		DateFormat: u.Preferences.DateFormat, DateSeparator: u.Preferences.DateSeparator, TimeFormat: u.Preferences.TimeFormat,
	}
	if u.CRM != nil {
		it.CRMContactID = u.CRM.ContactID
	}
	it.RoleIDs = nilIfEmpty(u.RoleIDs)
	if !byName {
		it.GSI1PK, it.GSI1SK, it.GSI2PK, it.GSI2SK = scope, userSortKey(u), scope+"#"+u.Status, userSortKey(u)
	}
	for _, p := range u.Projects {
		pi := userProjectItem{ProjectID: p.ProjectID, RatePerHour: p.RatePerHour, CostPerHour: p.CostPerHour}
		if p.Permissions != nil {
			b, _ := json.Marshal(p.Permissions)
			perms := string(b)
			pi.Permissions = &perms
		}
		it.Projects = append(it.Projects, pi)
	}
	item, _ := attributevalue.MarshalMap(it)
	return item
}

func userFromItem(item map[string]types.AttributeValue) (clientele.User, error) {
	var it userItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.User{}, fmt.Errorf("decode user: %w", err)
	}
	u := clientele.User{ID: it.ID, Email: it.Email, Name: it.Name, Title: it.Title, CompanyID: it.CompanyID,
		ProfileID: it.ProfileID, Status: it.Status, PortalAccess: it.PortalAccess, PortalRate: it.PortalRate,
		InvitedAt: parseOptTime(it.InvitedAt), LastInvitedAt: parseOptTime(it.LastInvitedAt), AcceptedAt: parseOptTime(it.AcceptedAt),
		InviteExpiresAt: parseOptTime(it.InviteExpiresAt), RemindersSent: it.RemindersSent, InviteError: it.InviteError,
		InviteTokenHash: it.InviteTokenHash, RemindAt: parseOptTime(it.RemindAt), Delivery: fromDeliveryItem(it.Delivery),
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt), Version: it.Version,
		Projects: make([]clientele.UserProject, 0, len(it.Projects))}
	if it.CRMContactID != "" {
		u.CRM = &clientele.CRMLink{ContactID: it.CRMContactID}
	}
	u.RoleIDs = slices.Sorted(slices.Values(it.RoleIDs)) // a string set has no order
	if u.RoleIDs == nil {
		u.RoleIDs = []string{}
	}
	for _, p := range it.Projects {
		up := clientele.UserProject{ProjectID: p.ProjectID, RatePerHour: p.RatePerHour, CostPerHour: p.CostPerHour}
		if p.Permissions != nil {
			if err := json.Unmarshal([]byte(*p.Permissions), &up.Permissions); err != nil {
				return u, fmt.Errorf("decode user permissions: %w", err)
			}
			if up.Permissions == nil {
				up.Permissions = clientele.Permissions{}
			}
			up.CustomizedPermissions = true
		}
		u.Projects = append(u.Projects, up)
	}
	for dst, v := range map[*string]string{&u.Preferences.DateFormat: it.DateFormat, &u.Preferences.DateSeparator: it.DateSeparator, &u.Preferences.TimeFormat: it.TimeFormat} {
		if v != "" {
			*dst = v
		}
	}
	return u, nil
}

func userNotFound() error { return clientele.Errorf(clientele.NotFound, "no such user") }

// GetUser returns a user; one strongly consistent GetItem.
func (s *Store) GetUser(ctx context.Context, pid, uid string) (clientele.User, error) {
	item, err := s.getItem(ctx, userPK(pid, uid), skMeta)
	if err != nil || item == nil {
		return clientele.User{}, orNotFound(err, userNotFound())
	}
	return userFromItem(item)
}

// UserScope picks the list: the portal's users, a company's or a project's;
// RoleID keeps the holders of a role (of the portal's users).
type UserScope struct{ CompanyID, ProjectID, RoleID string }

func (sc UserScope) partition(pid string) string {
	switch {
	case sc.CompanyID != "":
		return companyUsersPK(pid, sc.CompanyID)
	case sc.ProjectID != "":
		return projectUsersPK(pid, sc.ProjectID)
	}
	return usersGSI1PK(pid)
}

// ListUsers returns a page of the users of a scope ordered by address: all
// of them (GSI1) or those of one status (GSI2), optionally those whose
// address starts with prefix. One Query, never filtered after reading.
func (s *Store) ListUsers(ctx context.Context, pid string, scope UserScope, status, prefix string, limit int, start map[string]string) (Page[clientele.User], error) {
	part := scope.partition(pid)
	in := &dynamodb.QueryInput{IndexName: aws.String(gsi1), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(part)}}
	if status != "" {
		in.IndexName = aws.String(gsi2)
		in.KeyConditionExpression = aws.String("GSI2PK = :pk")
		in.ExpressionAttributeValues[":pk"] = str(part + "#" + status)
	}
	if prefix != "" {
		return s.searchUsers(ctx, part, status, prefix, limit, start)
	}
	if scope.RoleID == "" {
		return query(ctx, s, in, start, userFromItem)
	}
	// A role's holders: the portal's list, filtered (a list copy per role
	// would cost every user write up to 10 more items, beside the 53 copies
	// and 25 checks of a user on 25 projects): a page reads up to limit
	// users and keeps the holders; another only to avoid an empty answer.
	in.FilterExpression = aws.String("contains(roleIds, :role)")
	in.ExpressionAttributeValues[":role"] = str(scope.RoleID)
	for range maxFilteredPages {
		p, err := query(ctx, s, in, start, userFromItem)
		if err != nil || len(p.Items) > 0 || p.Next == nil {
			return p, err
		}
		start = p.Next
	}
	return Page[clientele.User]{Items: []clientele.User{}, Next: start}, nil
}

// maxFilteredPages bounds the reads of one page of a filtered list.
const maxFilteredPages = 10

// searchUsers returns users whose address or name starts with q. Each user
// has an address entry and, when named, a name entry in the scope's search
// partition, sorted by term; a user both of whose terms match is returned at
// its first entry only (the entry itself tells, since it carries both
// terms). A page is one Query, and more only when a run of second entries
// would otherwise leave it empty; pages never come back empty before the end.
func (s *Store) searchUsers(ctx context.Context, part, status, q string, limit int, start map[string]string) (Page[clientele.User], error) {
	q = strings.ToLower(strings.TrimSpace(q))
	idx, pkName, skName, pk := gsi3, "GSI3PK", "GSI3SK", part+"#Q"
	if status != "" {
		idx, pkName, skName, pk = gsi4, "GSI4PK", "GSI4SK", part+"#Q#"+status
	}
	out := Page[clientele.User]{Items: []clientele.User{}}
	next := start
	for {
		in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(idx), Limit: aws.Int32(int32(2 * limit)),
			KeyConditionExpression:    aws.String(pkName + " = :pk AND begins_with(" + skName + ", :q)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":q": str(q)}}
		if len(next) > 0 {
			in.ExclusiveStartKey = map[string]types.AttributeValue{}
			for k, v := range next {
				in.ExclusiveStartKey[k] = str(v)
			}
		}
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return out, unavailable(err, "search users")
		}
		consumed := 0
		for _, item := range res.Items {
			if len(out.Items) == limit {
				break
			}
			consumed++
			next = map[string]string{"PK": sval(item, "PK"), "SK": sval(item, "SK"), pkName: sval(item, pkName), skName: sval(item, skName)}
			u, err := userFromItem(item)
			if err != nil {
				return out, err
			}
			if !firstMatch(u, sval(item, skName), q) {
				continue
			}
			out.Items = append(out.Items, u)
		}
		more := consumed < len(res.Items) || len(res.LastEvaluatedKey) > 0
		if !more {
			return out, nil
		}
		if len(out.Items) > 0 {
			out.Next = next
			return out, nil
		}
	}
}

// firstMatch reports whether the search entry with sort key sk is the
// first of user u's entries that match q.
func firstMatch(u clientele.User, sk, q string) bool {
	terms := []string{clientele.EmailKey(u.Email) + "#" + u.ID + "#" + termEmail}
	if u.Name != nil && clientele.NameKey(*u.Name) != "" {
		terms = append(terms, clientele.NameKey(*u.Name)+"#"+u.ID+"#"+termName)
	}
	for _, t := range terms {
		if t < sk && strings.HasPrefix(t, q) {
			return false
		}
	}
	return true
}

func sval(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// UserHistory returns a page of a user's history, newest first.
func (s *Store) UserHistory(ctx context.Context, pid, uid string, limit int, start map[string]string) (Page[clientele.HistoryEntry], error) {
	p, err := s.historyPage(ctx, userPK(pid, uid), limit, start, func(map[string]types.AttributeValue) bool { return true })
	if clientele.ErrorCode(err) == clientele.NotFound {
		err = userNotFound()
	}
	return p, err
}

// AddContext is what every address of one POST /v1/users shares, read in
// one request before the first user is written.
type AddContext struct {
	Portal   clientele.Portal
	Company  clientele.Company
	Projects []clientele.Project
	// Template is the invitation template chosen for the request; nil for
	// the portal's choice.
	Template *clientele.InvitationTemplate
}

// ReadAddContext reads the portal, the company, the projects and the chosen
// invitation template (templateID; "" for none) of a user add in one
// TransactGetItems, and refuses targets that clientele.CheckAddTargets
// refuses.
func (s *Store) ReadAddContext(ctx context.Context, pid, cid string, projectIDs, roleIDs []string, rate, cost *float64, templateID string) (AddContext, error) {
	keys := []map[string]types.AttributeValue{key(portalPrefix(pid), skPortal), key(companyPK(pid, cid), skMeta)}
	for _, id := range projectIDs {
		keys = append(keys, key(projectPK(pid, id), skMeta))
	}
	// The roles are read only to refuse unknown ones before anything is
	// written (each user's transaction checks them again).
	rolesAt := len(keys)
	for _, id := range roleIDs {
		keys = append(keys, key(rolePK(pid, id), skMeta))
	}
	projectsEnd := rolesAt // got[2:projectsEnd] are the projects
	ownTemplate := templateID != "" && templateID != clientele.DefaultTemplateID
	if ownTemplate {
		keys = append(keys, key(templatePK(pid, templateID), skMeta))
	}
	got, err := s.getItems(ctx, keys...)
	if err != nil {
		return AddContext{}, err
	}
	var ac AddContext
	switch {
	case ownTemplate && got[len(got)-1] == nil:
		return ac, clientele.UnknownTemplate("templateId")
	case ownTemplate:
		t, err := templateFromItem(got[len(got)-1])
		if err != nil {
			return ac, err
		}
		ac.Template, got = &t, got[:len(got)-1]
	case templateID == clientele.DefaultTemplateID:
		ac.Template = &clientele.InvitationTemplate{ID: clientele.DefaultTemplateID, BuiltIn: true}
	}
	ac.Portal = clientele.DefaultPortal(pid)
	if got[0] != nil {
		if ac.Portal, err = portalFromItem(pid, got[0]); err != nil {
			return ac, err
		}
	}
	var t clientele.AddTargets
	if got[1] != nil {
		c, deleting, err := companyFromItem(got[1])
		if err != nil {
			return ac, err
		}
		if !deleting {
			ac.Company, t.Company = c, &c
		}
	}
	for _, item := range got[rolesAt:] {
		t.Roles = append(t.Roles, item != nil)
	}
	for _, item := range got[2:projectsEnd] {
		var found *clientele.Project
		if item != nil {
			p, deleting, err := projectFromItem(item)
			if err != nil {
				return ac, err
			}
			if !deleting {
				found = &p
			}
		}
		t.Projects = append(t.Projects, found)
	}
	if err := clientele.CheckAddTargets(cid, projectIDs, roleIDs, t, rate, cost); err != nil {
		return ac, err
	}
	for _, p := range t.Projects {
		ac.Projects = append(ac.Projects, *p)
	}
	return ac, nil
}

// CreateUser writes a new user in one transaction with everything that must
// hold with it: the email guard (unique per portal), the seat (counted under
// the limit by a condition, so parallel adds cannot pass it), the company's
// user count, the project memberships (each checked against the project),
// the invitation link's hash and the first history entry.
func (s *Store) CreateUser(ctx context.Context, pid string, u clientele.User, tokenHash string, actor clientele.Actor) error {
	return s.createUser(ctx, pid, u, tokenHash, actor)
}

// createUser is CreateUser with more items that must hold with it.
func (s *Store) createUser(ctx context.Context, pid string, u clientele.User, tokenHash string, actor clientele.Actor, more ...txItem) error {
	emailKey := clientele.EmailKey(u.Email)
	guard := key(emailPK(pid, emailKey), skGuard)
	guard["type"], guard["userId"] = str("user_email"), str(u.ID)
	u.InviteTokenHash = nilIfBlank(tokenHash)
	items := []txItem{
		s.put(userToItem(pid, u), "attribute_not_exists(PK)", nil, failWith(clientele.Errorf(clientele.Conflict, "user id collision; retry"))),
		s.put(guard, "attribute_not_exists(PK)", nil, failWith(errEmailTaken)),
		s.update(key(companyPK(pid, u.CompanyID), skMeta), "ADD userCount :one", "attribute_exists(PK) AND attribute_not_exists(deleting)", nil,
			map[string]types.AttributeValue{":one": num(1)}, failWith(clientele.Errorf(clientele.Conflict, "the company is being deleted"))),
	}
	if id := crmContactOf(u.CRM); id != "" {
		items = append(items, s.crmGuard(pid, CRMContact, id, u.ID, contactImported))
	}
	items = append(items, s.countUsers(pid, nil, &u)...)
	if tokenHash != "" && u.InviteExpiresAt != nil {
		items = append(items, s.gateItem(pid, u.ID, *u.LastInvitedAt))
		items = append(items, s.inviteLink(pid, tokenHash, u))
	}
	items = append(items, s.copies(pid, nil, &u)...)
	items = append(items, s.profileCount(pid, u.ProfileID, 1)...)
	items = append(items, s.roleCounts(pid, nil, &u)...)
	for _, p := range u.Projects {
		items = append(items, s.projectHasCompany(pid, p.ProjectID, u.CompanyID))
	}
	ch := clientele.Changes{}
	ch.Record("email", nil, u.Email)
	ch.Record("companyId", nil, u.CompanyID)
	ch.Record("status", nil, u.Status)
	ch.Record("portalAccess", nil, u.PortalAccess)
	ch.Record("name", nil, u.Name)
	ch.Record("title", nil, u.Title)
	ch.Record("portalRate", nil, u.PortalRate)
	if len(u.Projects) > 0 {
		ch.Record("projects", nil, u.Projects)
	}
	if len(u.RoleIDs) > 0 {
		ch.Record("roleIds", nil, u.RoleIDs)
	}
	items = append(items, s.history(userPK(pid, u.ID), actor, clientele.UserCreated, ch))
	err := s.transact(ctx, append(items, more...), nil)
	if err == errEmailTaken {
		return s.emailTaken(ctx, pid, emailKey)
	}
	return err
}

var errEmailTaken = fmt.Errorf("email taken")

// emailTaken explains a taken address: which user holds it, in which status,
// so a deactivated user is brought back rather than forked.
func (s *Store) emailTaken(ctx context.Context, pid, emailKey string) error {
	guard, err := s.getItem(ctx, emailPK(pid, emailKey), skGuard)
	if err != nil || guard == nil {
		return clientele.EmailTaken{}
	}
	id, _ := guard["userId"].(*types.AttributeValueMemberS)
	if id == nil {
		return clientele.EmailTaken{}
	}
	status := ""
	if u, err := s.GetUser(ctx, pid, id.Value); err == nil {
		status = u.Status
	}
	return clientele.EmailTaken{UserID: id.Value, Status: status}
}

// countUsers moves the portal's user counters from prev to next (nil prev
// for a new user, nil next for a deleted one): a seat for a user with portal
// access, a no-access slot for one without, each taken under its limit by the
// condition, so parallel adds and activations cannot pass it. Both counters
// are on one item, which a transaction may write once: one update does both.
func (s *Store) countUsers(pid string, prev, next *clientele.User) []txItem {
	delta := func(holds func(clientele.User) bool) int {
		d := 0
		if prev != nil && holds(*prev) {
			d--
		}
		if next != nil && holds(*next) {
			d++
		}
		return d
	}
	// Which counters move depends on the change: the SDK's builder writes
	// the expression and its placeholders.
	var update expression.UpdateBuilder
	var conds []expression.ConditionBuilder
	for _, c := range []struct {
		counter, limit string
		delta          int
	}{
		{"seatsUsed", "clientSeatLimit", delta(clientele.User.HoldsSeat)},
		{"noAccessUsed", "noAccessUserLimit", delta(clientele.User.HoldsNoAccessSlot)},
	} {
		counter, limit := expression.Name(c.counter), expression.Name(c.limit)
		switch {
		case c.delta > 0:
			conds = append(conds, expression.Or(expression.AttributeNotExists(limit), expression.AttributeNotExists(counter), counter.LessThan(limit)))
		case c.delta < 0:
			// Never below zero, whatever a half-migrated counter says.
			conds = append(conds, counter.GreaterThan(expression.Value(0)))
		default:
			continue
		}
		update = update.Add(counter, expression.Value(c.delta))
	}
	if len(conds) == 0 {
		return nil
	}
	cond := conds[0]
	if len(conds) > 1 {
		cond = expression.And(conds[0], conds[1], conds[2:]...)
	}
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		panic(err) // built from the constants above: failing is a bug
	}
	return []txItem{s.update(key(portalPrefix(pid), skPortal), *expr.Update(), *expr.Condition(), expr.Names(), expr.Values(),
		func(old map[string]types.AttributeValue) error {
			p, err := portalFromItem(pid, old)
			if err != nil {
				return err
			}
			switch {
			case next != nil && next.HoldsSeat() && p.ClientSeatLimit != nil && p.SeatsUsed >= *p.ClientSeatLimit:
				return clientele.LimitReached{Limit: clientele.SeatLimit}
			case next != nil && next.HoldsNoAccessSlot() && p.NoAccessUserLimit != nil && p.NoAccessUsed >= *p.NoAccessUserLimit:
				return clientele.LimitReached{Limit: clientele.NoAccessLimit}
			}
			return errRetry
		})}
}

// SetInviteError records why the invitation email could not be sent.
func (s *Store) SetInviteError(ctx context.Context, pid, uid, msg string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(userPK(pid, uid), skMeta),
		UpdateExpression:          aws.String("SET inviteError = :e"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": str(msg)}})
	if isConditionFailed(err) {
		return nil // deleted meanwhile: nothing to record
	}
	return unavailable(err, "record invite error")
}

func nilIfBlank(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// copies writes the copies of next that lists and searches read, and
// deletes those of prev that next no longer has (a project left, a name
// cleared); nil prev for a new user, nil next for a deleted one. Copy keys
// never depend on status or name, so an update is Puts only.
func (s *Store) copies(pid string, prev, next *clientele.User) []txItem {
	type copySpec struct{ pk, sk, typ, scope string }
	specs := func(u *clientele.User) map[copySpec]bool {
		out := map[copySpec]bool{}
		if u == nil {
			return out
		}
		named := u.Name != nil && clientele.NameKey(*u.Name) != ""
		add := func(pk, typ, scope, nameSK string) {
			out[copySpec{pk, skMember + u.ID, typ, scope}] = false
			if named {
				out[copySpec{userPK(pid, u.ID), nameSK, "user_name", scope}] = true
			}
		}
		if named {
			out[copySpec{userPK(pid, u.ID), skName + "P", "user_name", usersGSI1PK(pid)}] = true
		}
		add(companyPK(pid, u.CompanyID), "company_member", companyUsersPK(pid, u.CompanyID), skName+"C")
		for _, p := range u.Projects {
			add(projectPK(pid, p.ProjectID), "project_member", projectUsersPK(pid, p.ProjectID), skName+"PR#"+p.ProjectID)
		}
		return out
	}
	before, after := specs(prev), specs(next)
	var items []txItem
	for c, byName := range after {
		items = append(items, s.put(userCopy(pid, *next, c.pk, c.sk, c.typ, c.scope, byName), "", nil, nil))
	}
	for c := range before {
		if _, kept := after[c]; !kept {
			items = append(items, s.del(key(c.pk, c.sk), "", nil, nil))
		}
	}
	return items
}

// projectHasCompany checks, in the user's transaction, that the company is
// still on the project the user joins.
func (s *Store) projectHasCompany(pid, prid, cid string) txItem {
	return s.conditionCheck(key(projectPK(pid, prid), skMeta), "contains(companyIds, :c) AND attribute_not_exists(deleting)",
		map[string]types.AttributeValue{":c": str(cid)}, failWith(clientele.Errorf(clientele.Conflict, "the company left project %s meanwhile", prid)))
}
