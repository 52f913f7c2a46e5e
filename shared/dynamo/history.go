package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
)

type historyItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Type      string `dynamodbav:"type"`
	At        string `dynamodbav:"at"`
	ActorType string `dynamodbav:"actorType"`
	ActorID   string `dynamodbav:"actorId"`
	Action    string `dynamodbav:"action"`
	Changes   string `dynamodbav:"changes"` // JSON: values keep their JSON types
}

// tombstoneTTL is how long the last history entry of a deleted entity
// stays: long enough for the events trigger (a day of retries) to publish
// it; DynamoDB's TTL removes it after.
const tombstoneTTL = 48 * time.Hour

// tombstone is the history entry that records an entity's deletion, written
// in the transaction that deletes it (the rest of its history is gone): the
// stream publishes it, and then TTL (expiresAt) removes it.
func (s *Store) tombstone(pk string, actor clientele.Actor, action string, ch clientele.Changes) txItem {
	t := s.history(pk, actor, action, ch)
	t.write.Put.Item["expiresAt"] = num(int(s.clock.Now().Add(tombstoneTTL).Unix()))
	return t
}

// history returns the put of one history entry of the entity at pk.
func (s *Store) history(pk string, actor clientele.Actor, action string, ch clientele.Changes) txItem {
	if ch == nil {
		ch = clientele.Changes{}
	}
	b, _ := json.Marshal(ch) // Changes holds values decoded from or bound for JSON
	item, _ := attributevalue.MarshalMap(historyItem{
		PK: pk, SK: skHistory + s.ids.New(), Type: "history", At: fmtTime(s.clock.Now()),
		ActorType: actor.Type, ActorID: actor.ID, Action: action, Changes: string(b),
	})
	return s.put(item, "", nil, nil)
}

func historyFromItem(item map[string]types.AttributeValue) (clientele.HistoryEntry, error) {
	var it historyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.HistoryEntry{}, fmt.Errorf("decode history: %w", err)
	}
	e := clientele.HistoryEntry{ID: it.SK[len(skHistory):], At: parseTime(it.At),
		Actor: clientele.Actor{Type: it.ActorType, ID: it.ActorID}, Action: it.Action}
	if err := json.Unmarshal([]byte(it.Changes), &e.Changes); err != nil {
		return e, fmt.Errorf("decode history changes: %w", err)
	}
	return e, nil
}

// historyPage returns a page of the history of the entity at pk, newest
// first. The first page is one descending Query from the entity item, which
// proves the entity exists (alive reports whether it counts as existing).
func (s *Store) historyPage(ctx context.Context, pk string, limit int, start map[string]string, alive func(map[string]types.AttributeValue) bool) (Page[clientele.HistoryEntry], error) {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("PK = :pk AND SK BETWEEN :h AND :meta"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":h": str(skHistory), ":meta": str(skMeta)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	first := len(start) == 0
	if first {
		in.Limit = aws.Int32(int32(limit + 1))
	} else if start["PK"] != pk {
		return Page[clientele.HistoryEntry]{}, clientele.Errorf(clientele.Invalid, "the cursor is not valid for this query")
	}
	found := !first
	page, err := query(ctx, s, in, start, func(item map[string]types.AttributeValue) (*clientele.HistoryEntry, error) {
		if sk, _ := item["SK"].(*types.AttributeValueMemberS); sk != nil && sk.Value == skMeta {
			found = alive(item)
			return nil, nil
		}
		e, err := historyFromItem(item)
		return &e, err
	})
	if err != nil {
		return Page[clientele.HistoryEntry]{}, err
	}
	if !found {
		return Page[clientele.HistoryEntry]{}, clientele.Errorf(clientele.NotFound, "no such resource")
	}
	out := Page[clientele.HistoryEntry]{Items: make([]clientele.HistoryEntry, 0, len(page.Items)), Next: page.Next}
	for _, e := range page.Items {
		if e != nil {
			out.Items = append(out.Items, *e)
		}
	}
	return out, nil
}

// deleteHistory removes the history of the entity at pk, a page at a time;
// it is a step of a cascading delete and safe to repeat.
func (s *Store) deleteHistory(ctx context.Context, pk string) error {
	for {
		page, err := query(ctx, s, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :h)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":h": str(skHistory)},
			ProjectionExpression:      aws.String("PK, SK"),
			Limit:                     aws.Int32(100),
		}, nil, func(item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) { return item, nil })
		if err != nil {
			return err
		}
		if len(page.Items) == 0 {
			return nil
		}
		if err := s.batchDelete(ctx, page.Items); err != nil {
			return err
		}
	}
}

// batchDelete deletes keys, up to 100 per TransactWriteItems: unlike
// BatchWriteItem it needs no loop over unprocessed items, and the functions
// need no permission beyond the item actions.
func (s *Store) batchDelete(ctx context.Context, keys []map[string]types.AttributeValue) error {
	for len(keys) > 0 {
		n := min(100, len(keys))
		items := make([]txItem, n)
		for i, k := range keys[:n] {
			items[i] = s.del(key(k["PK"].(*types.AttributeValueMemberS).Value, k["SK"].(*types.AttributeValueMemberS).Value), "", nil, nil)
		}
		if err := s.transact(ctx, items, nil); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}
