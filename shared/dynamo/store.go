// Package dynamo is Clientele's single-table DynamoDB store. Every key starts
// with the portal (tenant) id, so no request can reach another portal's items.
// Uniqueness is held by guard items written in the same transaction as what
// they guard; concurrent edits by version conditions.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/idempotency"
	"github.com/clientele/clientele/shared/ids"
)

// Index names of the table.
const (
	gsi1 = "GSI1"
	gsi2 = "GSI2"
	gsi3 = "GSI3"
	gsi4 = "GSI4"
	// GSI5 is the sparse reminder index (keys only): invited users due for
	// an automatic reminder, across portals, sharded, sorted by due time.
	gsi5   = "GSI5"
	gsi5PK = "GSI5PK"
	gsi5SK = "GSI5SK"
)

// maxAttempts bounds the optimistic retries of a read-decide-write.
const maxAttempts = 8

// Store reads and writes the table.
type Store struct {
	db    *dynamodb.Client
	table string
	clock clock.Clock
	ids   *ids.Generator
}

// New returns a store over table.
func New(db *dynamodb.Client, table string, c clock.Clock, g *ids.Generator) *Store {
	return &Store{db: db, table: table, clock: c, ids: g}
}

var _ idempotency.Store = (*Store)(nil)

// Keys. Portal ids are validated ([a-z0-9-]) and entity ids are ULIDs, so
// '#' separates parts unambiguously.
func portalPrefix(pid string) string        { return "P#" + pid }
func companyPK(pid, cid string) string      { return portalPrefix(pid) + "#C#" + cid }
func companyNamePK(pid, key string) string  { return portalPrefix(pid) + "#CN#" + key }
func projectPK(pid, prid string) string     { return portalPrefix(pid) + "#PR#" + prid }
func companiesGSI1PK(pid string) string     { return portalPrefix(pid) + "#COMPANIES" }
func projectsGSI1PK(pid string) string      { return portalPrefix(pid) + "#PROJECTS" }
func idempotencyPK(pid, hash string) string { return portalPrefix(pid) + "#IDEM#" + hash }

// trashGSI1PK is where an entity's index entry moves while it is being
// deleted: out of every list at once, without deleting the item.
func trashGSI1PK(pid string) string { return portalPrefix(pid) + "#DELETING" }

// Sort keys of the item kinds.
const (
	skPortal = "PORTAL"
	// skMeta is the entity item of a company or project. It sorts after
	// skHistory, so one descending Query from it returns the entity (proof it
	// exists) and then its newest history: one request per history page.
	skMeta    = "META"
	skGuard   = "GUARD"
	skIdem    = "IDEM"
	skHistory = "H#"
	// maxStep bounds the entities one step of a cascade touches: each costs
	// up to two transaction items (the entity and its history entry).
	maxStep = 40
)

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": str(pk), "SK": str(sk)}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }
func strSet(v ...string) types.AttributeValue {
	return &types.AttributeValueMemberSS{Value: v}
}

// null clears an optional attribute. Clearing by SET x = NULL rather than
// REMOVE x: same meaning to every reader here, and minidyn v0.8.2 ignores
// top-level REMOVE.
var null types.AttributeValue = &types.AttributeValueMemberNULL{Value: true}

const timeFormat = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(v string) time.Time {
	t, _ := time.Parse(timeFormat, v)
	return t
}

// Now is the store's clock, truncated to what is stored.
func (s *Store) Now() time.Time { return s.clock.Now().Truncate(time.Millisecond) }

// NewID issues an id.
func (s *Store) NewID() string { return s.ids.New() }

// txItem is one write of a transaction and the error to answer when its
// condition fails; fail receives the item as it was (ALL_OLD), nil if absent.
type txItem struct {
	write types.TransactWriteItem
	fail  func(old map[string]types.AttributeValue) error
}

// errRetry marks a lost optimistic race: read again and redo.
var errRetry = errors.New("concurrent change; retry")

func failWith(err error) func(map[string]types.AttributeValue) error {
	return func(map[string]types.AttributeValue) error { return err }
}

func (s *Store) put(item map[string]types.AttributeValue, cond string, vals map[string]types.AttributeValue, fail func(map[string]types.AttributeValue) error) txItem {
	p := &types.Put{TableName: &s.table, Item: item,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	if cond != "" {
		p.ConditionExpression = &cond
		p.ExpressionAttributeValues = vals
	}
	return txItem{write: types.TransactWriteItem{Put: p}, fail: fail}
}

func (s *Store) update(k map[string]types.AttributeValue, expr, cond string, names map[string]string, vals map[string]types.AttributeValue, fail func(map[string]types.AttributeValue) error) txItem {
	u := &types.Update{TableName: &s.table, Key: k, UpdateExpression: &expr,
		ExpressionAttributeValues:           vals,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	if len(names) > 0 {
		u.ExpressionAttributeNames = names
	}
	if cond != "" {
		u.ConditionExpression = &cond
	}
	return txItem{write: types.TransactWriteItem{Update: u}, fail: fail}
}

func (s *Store) del(k map[string]types.AttributeValue, cond string, vals map[string]types.AttributeValue, fail func(map[string]types.AttributeValue) error) txItem {
	d := &types.Delete{TableName: &s.table, Key: k,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	if cond != "" {
		d.ConditionExpression = &cond
		d.ExpressionAttributeValues = vals
	}
	return txItem{write: types.TransactWriteItem{Delete: d}, fail: fail}
}

// conditionCheck is a transaction item that only checks cond on item k.
func (s *Store) conditionCheck(k map[string]types.AttributeValue, cond string, vals map[string]types.AttributeValue, fail func(map[string]types.AttributeValue) error) txItem {
	return txItem{write: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &s.table, Key: k,
		ConditionExpression: &cond, ExpressionAttributeValues: vals,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}}, fail: fail}
}

// idempotencyItem writes rec in the caller's transaction; a concurrent request
// with the same key makes the whole transaction fail with ErrRace.
func (s *Store) idempotencyItem(rec *idempotency.Record) txItem {
	return s.put(idempotencyToItem(*rec), "attribute_not_exists(PK) OR expiresAt < :now",
		map[string]types.AttributeValue{":now": num(int(s.clock.Now().Unix()))}, failWith(idempotency.ErrRace))
}

// transact runs items as one TransactWriteItems and turns a cancellation
// into the failing item's domain error.
func (s *Store) transact(ctx context.Context, items []txItem, rec *idempotency.Record, attempt int) error {
	if rec != nil {
		// First: where conditions are checked in order (minidyn), a
		// concurrent request with the same key is what is reported.
		items = append([]txItem{s.idempotencyItem(rec)}, items...)
	}
	if len(items) > 100 {
		return fmt.Errorf("transaction of %d items exceeds 100", len(items))
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: make([]types.TransactWriteItem, len(items))}
	for i, it := range items {
		in.TransactItems[i] = it.write
	}
	if rec != nil {
		// A retried Lambda invocation is a new SDK request: derive the token
		// from the key so DynamoDB itself dedupes it for 10 minutes.
		tok := rec.KeyHash[:32] + fmt.Sprintf("%04d", attempt)
		in.ClientRequestToken = &tok
	}
	_, err := s.db.TransactWriteItems(ctx, in)
	if err == nil {
		return nil
	}
	if tce, ok := errors.AsType[*types.TransactionCanceledException](err); ok {
		// A concurrent request with the same key wins over every other
		// reason: its answer is the one to replay.
		if rec != nil && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
			return idempotency.ErrRace
		}
		for i, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				if i < len(items) && items[i].fail != nil {
					return items[i].fail(r.Item)
				}
				return errRetry
			case "TransactionConflict":
				return errRetry
			}
		}
	}
	return unavailable(err, "write")
}

// unavailable classifies an SDK error. Throttling, service faults, timeouts
// and network errors are a 503 the caller may retry; anything else is a bug
// (a malformed request) and stays internal.
func unavailable(err error, op string) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*clientele.Error](err); ok {
		return err
	}
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		switch ae.ErrorCode() {
		case "ValidationException", "ResourceNotFoundException", "SerializationException",
			"IdempotentParameterMismatchException":
			return fmt.Errorf("dynamodb %s: %w", op, err)
		}
	}
	return &clientele.Error{Code: clientele.Unavailable, RetryAfter: time.Second,
		Message: "the database is unavailable; retry shortly", Err: fmt.Errorf("dynamodb %s: %w", op, err)}
}

// getItem reads one item with a strongly consistent read; nil when absent.
func (s *Store) getItem(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, unavailable(err, "get")
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// getItems reads several items in one TransactGetItems (one request, one
// consistent snapshot); absent items are nil.
func (s *Store) getItems(ctx context.Context, keys ...map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.TransactGetItemsInput{}
	for _, k := range keys {
		in.TransactItems = append(in.TransactItems, types.TransactGetItem{Get: &types.Get{TableName: &s.table, Key: k}})
	}
	out, err := s.db.TransactGetItems(ctx, in)
	if err != nil {
		return nil, unavailable(err, "transact get")
	}
	items := make([]map[string]types.AttributeValue, len(keys))
	for i, r := range out.Responses {
		if i < len(items) && len(r.Item) > 0 {
			items[i] = r.Item
		}
	}
	return items, nil
}

// Page is one page of a list.
type Page[T any] struct {
	Items []T
	Next  map[string]string // the key to resume from; nil on the last page
}

// EachPage reads a listing from its first page to its last, handing each
// page's items to each; it stops at the first error of either.
func EachPage[T any](list func(start map[string]string) (Page[T], error), each func([]T) error) error {
	var start map[string]string
	for {
		p, err := list(start)
		if err != nil {
			return err
		}
		if err := each(p.Items); err != nil {
			return err
		}
		if start = p.Next; start == nil {
			return nil
		}
	}
}

// query runs one Query page and converts its items.
func query[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, start map[string]string, conv func(map[string]types.AttributeValue) (T, error)) (Page[T], error) {
	in.TableName = &s.table
	if len(start) > 0 {
		in.ExclusiveStartKey = map[string]types.AttributeValue{}
		for k, v := range start {
			in.ExclusiveStartKey[k] = str(v)
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return Page[T]{}, unavailable(err, "query")
	}
	page := Page[T]{Items: make([]T, 0, len(out.Items))}
	for _, it := range out.Items {
		v, err := conv(it)
		if err != nil {
			return Page[T]{}, err
		}
		page.Items = append(page.Items, v)
	}
	if len(out.LastEvaluatedKey) > 0 {
		page.Next = map[string]string{}
		for k, v := range out.LastEvaluatedKey {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				page.Next[k] = sv.Value
			}
		}
	}
	return page, nil
}

func isConditionFailed(err error) bool {
	_, ok := errors.AsType[*types.ConditionalCheckFailedException](err)
	return ok
}

// retry runs attempt until it does not lose an optimistic race, at most
// maxAttempts times; then the caller gets a 503 to retry later.
func retry[T any](ctx context.Context, attempt func() (T, error)) (T, error) {
	var v T
	var err error
	for i := range maxAttempts {
		if v, err = attempt(); !errors.Is(err, errRetry) {
			return v, err
		}
		// Writers that lost a race back off by a random few milliseconds,
		// so that they do not collide again in lockstep.
		select {
		case <-ctx.Done():
			return v, unavailable(ctx.Err(), "retry")
		case <-time.After(time.Duration(rand.Int64N(int64(i+1) * int64(2*time.Millisecond)))):
		}
	}
	return v, &clientele.Error{Code: clientele.Unavailable, RetryAfter: time.Second,
		Message: "too many concurrent changes to this resource; retry", Err: err}
}

// nilIfEmpty lets omitempty drop an empty set: DynamoDB has no empty sets,
// and the SDK would otherwise write NULL, which ADD cannot extend.
func nilIfEmpty(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	return v
}

// dropNonSet deletes attribute name from item unless it is a string set. In
// DynamoDB, deleting a set's last element removes the attribute; minidyn
// v0.8.2 leaves a scalar behind instead, which must read as an empty set.
func dropNonSet(item map[string]types.AttributeValue, name string) map[string]types.AttributeValue {
	if v, ok := item[name]; ok {
		if _, isSet := v.(*types.AttributeValueMemberSS); !isSet {
			item = maps.Clone(item)
			delete(item, name)
		}
	}
	return item
}
