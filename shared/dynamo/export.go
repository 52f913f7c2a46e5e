package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/idempotency"
)

// Keys of export jobs: one item per job, listed per portal in GSI1 (newest
// first by the job's ULID), never by a Scan.
func exportPK(pid, id string) string  { return portalPrefix(pid) + "#EXPORT#" + id }
func exportsGSI1PK(pid string) string { return portalPrefix(pid) + "#EXPORTS" }

const skExport = "EXPORT"

// ExportJobType is the type attribute of export job items; the export
// worker's stream trigger selects the INSERTs of items of this type.
const ExportJobType = "export_job"

type exportItem struct {
	PK          string   `dynamodbav:"PK"`
	SK          string   `dynamodbav:"SK"`
	Type        string   `dynamodbav:"type"`
	GSI1PK      string   `dynamodbav:"GSI1PK"`
	GSI1SK      string   `dynamodbav:"GSI1SK"`
	PortalID    string   `dynamodbav:"portalId"`
	ID          string   `dynamodbav:"id"`
	Scope       string   `dynamodbav:"scope"`
	ProjectIDs  []string `dynamodbav:"projectIds,omitempty"`
	Status      string   `dynamodbav:"status"`
	RowsWritten int      `dynamodbav:"rowsWritten"`
	Attempt     int      `dynamodbav:"attempt"`
	Error       *string  `dynamodbav:"error"`
	ObjectKey   string   `dynamodbav:"objectKey"`
	FileName    string   `dynamodbav:"fileName"`
	CreatedAt   string   `dynamodbav:"createdAt"`
	UpdatedAt   string   `dynamodbav:"updatedAt"`
	CompletedAt *string  `dynamodbav:"completedAt"`
	ExpiresAt   int64    `dynamodbav:"expiresAt"`
}

func exportFromItem(item map[string]types.AttributeValue) (clientele.Export, error) {
	var it exportItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return clientele.Export{}, fmt.Errorf("decode export: %w", err)
	}
	return clientele.Export{ID: it.ID, PortalID: it.PortalID, Scope: it.Scope, ProjectIDs: it.ProjectIDs, Status: it.Status,
		RowsWritten: it.RowsWritten, Attempt: it.Attempt, Error: it.Error, ObjectKey: it.ObjectKey, FileName: it.FileName,
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt), CompletedAt: parseOptTime(it.CompletedAt)}, nil
}

func exportNotFound() error { return clientele.Errorf(clientele.NotFound, "no such export") }

// CreateExport records a pending job (with the request's idempotency
// record, in one transaction). Its INSERT is what starts the worker.
func (s *Store) CreateExport(ctx context.Context, e clientele.Export, rec *idempotency.Record) error {
	item, err := attributevalue.MarshalMap(exportItem{PK: exportPK(e.PortalID, e.ID), SK: skExport, Type: ExportJobType,
		GSI1PK: exportsGSI1PK(e.PortalID), GSI1SK: e.ID, PortalID: e.PortalID, ID: e.ID, Scope: e.Scope, ProjectIDs: e.ProjectIDs,
		Status: e.Status, ObjectKey: e.ObjectKey, FileName: e.FileName, CreatedAt: fmtTime(e.CreatedAt), UpdatedAt: fmtTime(e.UpdatedAt),
		ExpiresAt: e.CreatedAt.Add(clientele.ExportRetention).Unix()})
	if err != nil {
		return fmt.Errorf("encode export: %w", err)
	}
	return s.transact(ctx, []txItem{s.put(item, "attribute_not_exists(PK)", nil,
		failWith(clientele.Errorf(clientele.Conflict, "export id collision; retry")))}, rec)
}

// GetExport returns a job; one strongly consistent GetItem.
func (s *Store) GetExport(ctx context.Context, pid, id string) (clientele.Export, error) {
	item, err := s.getItem(ctx, exportPK(pid, id), skExport)
	if err != nil || item == nil {
		return clientele.Export{}, orNotFound(err, exportNotFound())
	}
	return exportFromItem(item)
}

// ListExports returns a page of the portal's jobs, newest first; one Query.
func (s *Store) ListExports(ctx context.Context, pid string, limit int, start map[string]string) (Page[clientele.Export], error) {
	return query(ctx, s, &dynamodb.QueryInput{IndexName: aws.String(gsi1), Limit: aws.Int32(int32(limit)), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(exportsGSI1PK(pid))},
	}, start, exportFromItem)
}

// ClaimExport starts a delivery of the job: pending (or running, when an
// earlier delivery failed midway) becomes running under a new attempt
// number, with rowsWritten back at 0, as long as fewer than maxAttempts
// deliveries have claimed it. claimed is false, with the job as it is,
// when there is nothing to do (ready, failed, out of attempts, gone).
func (s *Store) ClaimExport(ctx context.Context, pid, id string, maxAttempts int) (e clientele.Export, claimed bool, err error) {
	now := s.Now()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(exportPK(pid, id), skExport),
		UpdateExpression:         aws.String("SET #s = :running, attempt = attempt + :one, rowsWritten = :zero, updatedAt = :now"),
		ConditionExpression:      aws.String("attribute_exists(PK) AND (#s = :pending OR #s = :running) AND attempt < :max"),
		ExpressionAttributeNames: map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":running": str(clientele.ExportRunning), ":pending": str(clientele.ExportPending),
			":one": num(1), ":zero": num(0), ":max": num(maxAttempts), ":now": str(fmtTime(now))},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if err == nil {
		e, err = exportFromItem(out.Attributes)
		return e, err == nil, err
	}
	if cf, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		if len(cf.Item) == 0 {
			return e, false, exportNotFound()
		}
		e, err = exportFromItem(cf.Item)
		return e, false, err
	}
	return e, false, unavailable(err, "claim export")
}

// ownAttempt is the condition of every write of a delivery: the job is
// still running under its attempt (a later delivery has not taken over).
const ownAttempt = "#s = :running AND attempt = :attempt"

func (s *Store) updateExport(ctx context.Context, pid, id string, attempt int, set string, vals map[string]types.AttributeValue) error {
	names := map[string]string{"#s": "status"}
	if vals[":reason"] != nil {
		names["#e"] = "error"
	}
	vals[":running"], vals[":attempt"], vals[":now"] = str(clientele.ExportRunning), num(attempt), str(fmtTime(s.Now()))
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(exportPK(pid, id), skExport),
		UpdateExpression: aws.String("SET " + set + ", updatedAt = :now"), ConditionExpression: aws.String(ownAttempt),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals})
	if isConditionFailed(err) {
		return clientele.Errorf(clientele.Conflict, "the export job was taken over or finished by another delivery")
	}
	return unavailable(err, "update export")
}

// ExportProgress records how many rows the running delivery has written.
func (s *Store) ExportProgress(ctx context.Context, pid, id string, attempt, rows int) error {
	return s.updateExport(ctx, pid, id, attempt, "rowsWritten = :rows", map[string]types.AttributeValue{":rows": num(rows)})
}

// FinishExport marks the job ready: called only once the file's upload has
// completed, so a ready job always has its whole file.
func (s *Store) FinishExport(ctx context.Context, pid, id string, attempt, rows int) error {
	return s.updateExport(ctx, pid, id, attempt, "#s = :ready, rowsWritten = :rows, completedAt = :now",
		map[string]types.AttributeValue{":ready": str(clientele.ExportReady), ":rows": num(rows)})
}

// FailExport marks the job failed with a reason safe to show.
func (s *Store) FailExport(ctx context.Context, pid, id string, attempt int, reason string) error {
	return s.updateExport(ctx, pid, id, attempt, "#s = :failed, #e = :reason, completedAt = :now",
		map[string]types.AttributeValue{":failed": str(clientele.ExportFailed), ":reason": str(reason)})
}
