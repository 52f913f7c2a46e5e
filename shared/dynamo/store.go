// Package dynamo is Clientele's single-table DynamoDB store. Every key starts
// with the portal (tenant) id, so no request can reach another portal's items.
// Uniqueness is held by guard items written in the same transaction as what
// they guard; concurrent edits by version conditions.
package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
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

// maxAttempts bounds the optimistic retries of a read-decide-write: with
// the backoff below, 16 writers of one item all get through (one wins each
// round), as a burst on one project shows.
const maxAttempts = 12

// retryBackoffCap caps retry's exponential backoff.
const retryBackoffCap = 64 * time.Millisecond

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

// conflictAttempts bounds how often transact sends a transaction that
// conflicting ones keep cancelling; conflictBackoff is the first backoff
// ceiling, doubled each time, the wait drawn below it (full jitter).
const (
	conflictAttempts = 6
	conflictBackoff  = 4 * time.Millisecond
)

// transact runs items as one TransactWriteItems, with the idempotency record
// rec (if any) as one more item, and turns a cancellation into the failing
// item's domain error. A transaction cancelled only by conflicting ones
// (TransactionConflict) is sent again after a jittered backoff; one that
// still cannot get through is a 503.
func (s *Store) transact(ctx context.Context, items []txItem, rec *idempotency.Record) error {
	recAt := -1
	if rec != nil {
		recAt = len(items)
		items = append(items[:len(items):len(items)], s.idempotencyItem(rec))
	}
	if len(items) > 100 {
		// DynamoDB's limit: a change this large (a user joining 25
		// projects while every role is swapped, say) is refused whole,
		// before anything is written, as the caller's to split.
		return clientele.Errorf(clientele.Invalid, "the change is too large to make at once (%d writes; one transaction takes 100): make it in two requests", len(items))
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: make([]types.TransactWriteItem, len(items))}
	for i, it := range items {
		in.TransactItems[i] = it.write
	}
	effect := ""
	if rec != nil {
		effect = writesHash(in.TransactItems)
	}
	var err error
	for attempt := range conflictAttempts {
		if rec != nil {
			// A retried Lambda invocation is a new SDK request: a token of
			// the key and of the writes themselves lets DynamoDB recognise
			// the same work sent again (for 10 minutes), while different work
			// under the same key (a racing request) is never a mismatch; its
			// conflict is the record's condition.
			tok := requestToken(rec.KeyHash, effect, attempt)
			in.ClientRequestToken = &tok
		} else {
			// The SDK writes a token of its own into the input it is
			// given; a sending after a cancellation is new work and gets a
			// new one.
			in.ClientRequestToken = nil
		}
		if _, err = s.db.TransactWriteItems(ctx, in); err == nil {
			return nil
		}
		tce, ok := errors.AsType[*types.TransactionCanceledException](err)
		if !ok {
			break
		}
		reasons := tce.CancellationReasons
		// A concurrent request with the same key wins over every other
		// reason: its answer is the one to replay.
		if recAt >= 0 && recAt < len(reasons) && aws.ToString(reasons[recAt].Code) == "ConditionalCheckFailed" {
			return idempotency.ErrRace
		}
		conflict := false
		for i, r := range reasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				if i < len(items) && items[i].fail != nil {
					return items[i].fail(r.Item)
				}
				return errRetry
			case "TransactionConflict":
				conflict = true
			}
		}
		if !conflict {
			break
		}
		select {
		case <-ctx.Done():
			return unavailable(ctx.Err(), "write")
		case <-time.After(time.Duration(rand.Int64N(int64(conflictBackoff) << attempt))):
		}
		if attempt == conflictAttempts-1 {
			return &clientele.Error{Code: clientele.Unavailable, RetryAfter: time.Second,
				Message: "too many concurrent changes to this resource; retry", Err: err}
		}
	}
	if rec != nil {
		// The same token is already in use: by this very work still
		// running (TransactionInProgress, which the SDK has retried), or,
		// within the 10 minutes, by other writes; either way the request
		// that holds the key answers.
		for _, code := range []string{"TransactionInProgressException", "IdempotentParameterMismatchException"} {
			if ae, ok := errors.AsType[smithy.APIError](err); ok && ae.ErrorCode() == code {
				return idempotency.ErrRace
			}
		}
	}
	return unavailable(err, "write")
}

// requestToken is a ClientRequestToken (at most 36 characters) for the
// writes of hash effect under idempotency key keyHash, on their attempt'th
// sending after conflicts.
func requestToken(keyHash, effect string, attempt int) string {
	h := sha256.Sum256([]byte(keyHash + "|" + effect + "|" + strconv.Itoa(attempt)))
	return hex.EncodeToString(h[:18])
}

// writesHash identifies a transaction's writes: every key, item, expression
// and value, with each attribute value's type.
func writesHash(items []types.TransactWriteItem) string {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s", len(p), p)
		}
	}
	var av func(v types.AttributeValue)
	avMap := func(m map[string]types.AttributeValue) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			w(k)
			av(m[k])
		}
	}
	av = func(v types.AttributeValue) {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			w("S", v.Value)
		case *types.AttributeValueMemberN:
			w("N", v.Value)
		case *types.AttributeValueMemberB:
			w("B", string(v.Value))
		case *types.AttributeValueMemberBOOL:
			w("BOOL", strconv.FormatBool(v.Value))
		case *types.AttributeValueMemberNULL:
			w("NULL")
		case *types.AttributeValueMemberSS:
			w(append([]string{"SS"}, v.Value...)...)
		case *types.AttributeValueMemberNS:
			w(append([]string{"NS"}, v.Value...)...)
		case *types.AttributeValueMemberBS:
			w("BS")
			for _, b := range v.Value {
				w(string(b))
			}
		case *types.AttributeValueMemberL:
			w("L", strconv.Itoa(len(v.Value)))
			for _, e := range v.Value {
				av(e)
			}
		case *types.AttributeValueMemberM:
			w("M", strconv.Itoa(len(v.Value)))
			avMap(v.Value)
		default:
			w(fmt.Sprintf("%T", v))
		}
	}
	write := func(kind string, table, expr, cond *string, item map[string]types.AttributeValue, names map[string]string, vals map[string]types.AttributeValue) {
		w(kind, aws.ToString(table), aws.ToString(expr), aws.ToString(cond))
		avMap(item)
		for _, k := range slices.Sorted(maps.Keys(names)) {
			w(k, names[k])
		}
		avMap(vals)
	}
	for _, it := range items {
		switch {
		case it.Put != nil:
			write("Put", it.Put.TableName, nil, it.Put.ConditionExpression, it.Put.Item, it.Put.ExpressionAttributeNames, it.Put.ExpressionAttributeValues)
		case it.Update != nil:
			write("Update", it.Update.TableName, it.Update.UpdateExpression, it.Update.ConditionExpression, it.Update.Key, it.Update.ExpressionAttributeNames, it.Update.ExpressionAttributeValues)
		case it.Delete != nil:
			write("Delete", it.Delete.TableName, nil, it.Delete.ConditionExpression, it.Delete.Key, it.Delete.ExpressionAttributeNames, it.Delete.ExpressionAttributeValues)
		case it.ConditionCheck != nil:
			write("ConditionCheck", it.ConditionCheck.TableName, nil, it.ConditionCheck.ConditionExpression, it.ConditionCheck.Key, it.ConditionCheck.ExpressionAttributeNames, it.ConditionCheck.ExpressionAttributeValues)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
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
		// Writers that lost a race back off by a random wait (full jitter)
		// that doubles each round, so that they spread out instead of
		// colliding again in lockstep.
		select {
		case <-ctx.Done():
			return v, unavailable(ctx.Err(), "retry")
		case <-time.After(time.Duration(rand.Int64N(int64(min(retryBackoffCap, 2*time.Millisecond<<i))))):
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
