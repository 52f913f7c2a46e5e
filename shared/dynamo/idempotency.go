package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/idempotency"
)

type idempotencyItem struct {
	PK          string            `dynamodbav:"PK"`
	SK          string            `dynamodbav:"SK"`
	Type        string            `dynamodbav:"type"`
	Fingerprint string            `dynamodbav:"fingerprint"`
	Status      int               `dynamodbav:"status"`
	Headers     map[string]string `dynamodbav:"headers"`
	Body        string            `dynamodbav:"body"`
	ExpiresAt   int64             `dynamodbav:"expiresAt"` // TTL, epoch seconds
}

func idempotencyToItem(r idempotency.Record) map[string]types.AttributeValue {
	item, _ := attributevalue.MarshalMap(idempotencyItem{
		PK: idempotencyPK(r.PortalID, r.KeyHash), SK: skIdem, Type: "idempotency",
		Fingerprint: r.Fingerprint, Status: r.Status, Headers: r.Headers, Body: r.Body,
		ExpiresAt: r.ExpiresAt.Unix(),
	})
	return item
}

// GetIdempotency returns the record of a key, nil when absent. Expiry is the
// caller's to check: DynamoDB deletes expired items late.
func (s *Store) GetIdempotency(ctx context.Context, portalID, keyHash string) (*idempotency.Record, error) {
	item, err := s.getItem(ctx, idempotencyPK(portalID, keyHash), skIdem)
	if err != nil || item == nil {
		return nil, err
	}
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode idempotency record: %w", err)
	}
	return &idempotency.Record{PortalID: portalID, KeyHash: keyHash, Fingerprint: it.Fingerprint,
		Status: it.Status, Headers: it.Headers, Body: it.Body, ExpiresAt: time.Unix(it.ExpiresAt, 0)}, nil
}

// PutIdempotency writes rec unless a live record of the key exists.
func (s *Store) PutIdempotency(ctx context.Context, rec idempotency.Record) error {
	cond := "attribute_not_exists(PK) OR expiresAt < :now"
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: idempotencyToItem(rec),
		ConditionExpression:       &cond,
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: fmt.Sprint(s.clock.Now().Unix())}}})
	if isConditionFailed(err) {
		return idempotency.ErrRace
	}
	return unavailable(err, "put idempotency record")
}

// ReplaceIdempotency writes the final record over the lock of its request.
func (s *Store) ReplaceIdempotency(ctx context.Context, rec idempotency.Record) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: idempotencyToItem(rec)})
	return unavailable(err, "put idempotency record")
}

// ReleaseIdempotency deletes a request's lock (a failed request records
// nothing, so that the key can be retried); a final record is kept.
func (s *Store) ReleaseIdempotency(ctx context.Context, rec idempotency.Record) error {
	cond := "#status = :zero AND fingerprint = :fp"
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(idempotencyPK(rec.PortalID, rec.KeyHash), skIdem),
		ConditionExpression:      &cond,
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": &types.AttributeValueMemberN{Value: "0"},
			":fp": &types.AttributeValueMemberS{Value: rec.Fingerprint}}})
	if isConditionFailed(err) {
		return nil
	}
	return unavailable(err, "release idempotency lock")
}
