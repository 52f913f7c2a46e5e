package dynamo

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/infra/dynamodblocal"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

func TestWritesHash(t *testing.T) {
	put := func(item map[string]types.AttributeValue, cond string) []types.TransactWriteItem {
		return []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String("t"), Item: item, ConditionExpression: aws.String(cond)}}}
	}
	base := put(map[string]types.AttributeValue{"PK": str("a"), "n": num(1)}, "attribute_not_exists(PK)")
	tests := []struct {
		name  string
		other []types.TransactWriteItem
		same  bool
	}{
		{"same writes", put(map[string]types.AttributeValue{"n": num(1), "PK": str("a")}, "attribute_not_exists(PK)"), true},
		{"another value", put(map[string]types.AttributeValue{"PK": str("a"), "n": num(2)}, "attribute_not_exists(PK)"), false},
		{"another type", put(map[string]types.AttributeValue{"PK": str("a"), "n": str("1")}, "attribute_not_exists(PK)"), false},
		{"another attribute", put(map[string]types.AttributeValue{"PK": str("a"), "m": num(1)}, "attribute_not_exists(PK)"), false},
		{"another condition", put(map[string]types.AttributeValue{"PK": str("a"), "n": num(1)}, ""), false},
		{"an update instead", []types.TransactWriteItem{{Update: &types.Update{TableName: aws.String("t"),
			Key: map[string]types.AttributeValue{"PK": str("a")}, UpdateExpression: aws.String("SET n = :one")}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := writesHash(tt.other) == writesHash(base); got != tt.same {
				t.Fatalf("same hash: %v, want %v", got, tt.same)
			}
		})
	}
	tok := requestToken("key", writesHash(base), 0)
	if len(tok) > 36 || tok == requestToken("key", writesHash(base), 1) || tok == requestToken("other", writesHash(base), 0) {
		t.Fatalf("token %q: too long, or the same for another attempt or key", tok)
	}
}

// conflicts makes the proxy cancel the first n transactions (every one when
// n < 0) as a conflicting transaction would; it returns the count seen.
func conflicts(p *dynamodblocal.Proxy, n int64) *atomic.Int64 {
	var seen atomic.Int64
	p.Inject(func(r dynamodblocal.Request) *dynamodblocal.Fault {
		if r.Op != "TransactWriteItems" {
			return nil
		}
		if i := seen.Add(1); n < 0 || i <= n {
			return &dynamodblocal.Fault{Conflict: true}
		}
		return nil
	})
	return &seen
}

func TestTransactionConflictRetried(t *testing.T) {
	s, proxy, _ := newStore(t)
	ctx := context.Background()
	seen := conflicts(proxy, 2)
	if _, err := s.CreateCompany(ctx, "p1", company(s, "Busy"), staff, nil); err != nil {
		t.Fatalf("after two conflicts: %v", err)
	}
	if n := seen.Load(); n != 3 {
		t.Fatalf("%d transactions sent, want 3", n)
	}

	seen = conflicts(proxy, -1)
	_, err := s.CreateCompany(ctx, "p1", company(s, "Never"), staff, nil)
	proxy.Inject(nil)
	var e *clientele.Error
	if !errors.As(err, &e) || e.Code != clientele.Unavailable || e.RetryAfter <= 0 {
		t.Fatalf("conflicting every time: %v, want Unavailable with RetryAfter", err)
	}
	if n := seen.Load(); n != conflictAttempts {
		t.Fatalf("%d transactions sent, want %d", n, conflictAttempts)
	}
	if page, err := s.ListCompanies(ctx, "p1", "never", 10, nil); err != nil || len(page.Items) != 0 {
		t.Fatalf("the refused write wrote: %+v %v", page, err)
	}
}

// TestSameKeyRaces: under one idempotency key, the record's condition
// decides between different work (ErrRace, whatever else fails), and a
// token still in use answers ErrRace too; never a mismatch or a 5xx.
func TestSameKeyRaces(t *testing.T) {
	s, proxy, clk := newStore(t)
	ctx := context.Background()
	rec := func() *idempotency.Record {
		return &idempotency.Record{PortalID: "p1", KeyHash: "fedcba9876543210fedcba9876543210fedc", Fingerprint: "f",
			Status: 201, Body: "{}", ExpiresAt: clk.Now().Add(idempotency.TTL)}
	}
	if _, err := s.CreateCompany(ctx, "p1", company(s, "Taken"), staff, rec()); err != nil {
		t.Fatal(err)
	}
	// The name guard fails too, and comes first: the record still wins.
	if _, err := s.CreateCompany(ctx, "p1", company(s, "Taken"), staff, rec()); !errors.Is(err, idempotency.ErrRace) {
		t.Fatalf("taken name under a used key: %v, want ErrRace", err)
	}
	proxy.Inject(func(r dynamodblocal.Request) *dynamodblocal.Fault {
		if r.Op == "TransactWriteItems" {
			return &dynamodblocal.Fault{Error: "TransactionInProgressException"}
		}
		return nil
	})
	_, err := s.CreateCompany(ctx, "p1", company(s, "Other"), staff, &idempotency.Record{PortalID: "p1", KeyHash: "0000000000000000000000000000000000000000",
		Fingerprint: "g", Status: 201, Body: "{}", ExpiresAt: clk.Now().Add(time.Hour)})
	proxy.Inject(nil)
	if !errors.Is(err, idempotency.ErrRace) {
		t.Fatalf("token in progress: %v, want ErrRace", err)
	}
}

// TestSameWritesSameToken: DynamoDB recognises the same writes sent again
// under the same key (a retried invocation) and does not apply them twice,
// while the item's own condition would refuse them.
func TestSameWritesSameToken(t *testing.T) {
	s, _, clk := newStore(t)
	ctx := context.Background()
	rec := &idempotency.Record{PortalID: "p1", KeyHash: "abcdefabcdefabcdefabcdefabcdefabcdef", Fingerprint: "f",
		Status: 201, Body: "{}", ExpiresAt: clk.Now().Add(idempotency.TTL)}
	c := company(s, "Once")
	items := func() []txItem {
		return []txItem{s.put(companyToItem("p1", c), "attribute_not_exists(PK)", nil, failWith(errors.New("written twice")))}
	}
	if err := s.transact(ctx, items(), rec); err != nil {
		t.Fatal(err)
	}
	if err := s.transact(ctx, items(), rec); err != nil {
		t.Fatalf("the same writes again: %v, want DynamoDB's idempotent success", err)
	}
}
