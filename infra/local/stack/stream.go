package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/export"
)

// The table's stream, emulated (minidyn has none): the DynamoDB endpoint
// watches the writes that succeed, and each Put of an export job item
// (what the worker's filter passes in AWS: an INSERT, since jobs are Put
// once under attribute_not_exists and changed by UpdateItem after) becomes
// a DynamoDBEvent of one record with its NEW_IMAGE, delivered to the export
// worker's handler in a goroutine, one at a time as a stream shard would,
// through the Lambda runtime's JSON encoding. A delivery that fails is
// retried like the event source mapping's MaximumRetryAttempts: 2.

// serveDynamo forwards a request to minidyn and, when it succeeds, emits
// the stream records of the export jobs it inserted.
func (st *Stack) serveDynamo(w http.ResponseWriter, r *http.Request, op string) {
	if op != "PutItem" && op != "TransactWriteItems" {
		st.Dynamo.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	st.Dynamo.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	if rec.Code != http.StatusOK {
		return
	}
	var in struct {
		Item          map[string]events.DynamoDBAttributeValue
		TransactItems []struct {
			Put *struct {
				Item map[string]events.DynamoDBAttributeValue
			}
		}
	}
	if json.Unmarshal(body, &in) != nil {
		return
	}
	images := []map[string]events.DynamoDBAttributeValue{in.Item}
	for _, t := range in.TransactItems {
		if t.Put != nil {
			images = append(images, t.Put.Item)
		}
	}
	for _, img := range images {
		if v, ok := img["type"]; ok && v.DataType() == events.DataTypeString && v.String() == dynamo.ExportJobType {
			st.stream.push(img)
		}
	}
}

// stream is the queue of records and the one goroutine delivering them.
type stream struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []map[string]events.DynamoDBAttributeValue
	busy    int // queued or being delivered
	held    bool
	closed  bool
	seq     atomic.Int64
	deliver func(map[string]events.DynamoDBAttributeValue)
}

func (s *stream) start(deliver func(map[string]events.DynamoDBAttributeValue)) {
	s.cond = sync.NewCond(&s.mu)
	s.deliver = deliver
	go func() {
		for {
			s.mu.Lock()
			for !s.closed && (s.held || len(s.queue) == 0) {
				s.cond.Wait()
			}
			if s.closed {
				s.mu.Unlock()
				return
			}
			img := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			s.deliver(img)
			s.mu.Lock()
			s.busy--
			s.cond.Broadcast()
			s.mu.Unlock()
		}
	}()
}

func (s *stream) push(img map[string]events.DynamoDBAttributeValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.queue = append(s.queue, img)
	s.busy++
	s.cond.Broadcast()
}

func (s *stream) stop() {
	if s.cond == nil {
		return
	}
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// HoldStream stops (true) or resumes (false) deliveries: records queue up
// meanwhile, as on a stream whose trigger is disabled. For tests that count
// requests or inject faults and must not see the worker's.
func (st *Stack) HoldStream(hold bool) {
	st.stream.mu.Lock()
	st.stream.held = hold
	st.stream.cond.Broadcast()
	st.stream.mu.Unlock()
}

// WaitStream waits until every record emitted so far has been delivered
// (retries included), or ctx ends.
func (st *Stack) WaitStream(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		st.stream.mu.Lock()
		st.stream.cond.Broadcast()
		st.stream.mu.Unlock()
	})
	defer stop()
	st.stream.mu.Lock()
	defer st.stream.mu.Unlock()
	for st.stream.busy > 0 && ctx.Err() == nil {
		st.stream.cond.Wait()
	}
	return ctx.Err()
}

// deliverExportJob invokes the export worker with the record of img, and
// retries a failed invocation twice, as the event source mapping does.
func (st *Stack) deliverExportJob(img map[string]events.DynamoDBAttributeValue) {
	ev := st.ExportJobEvent(img)
	for range 3 {
		if err := st.InvokeExportWorker(context.Background(), ev); err == nil {
			return
		}
	}
}

// ExportJobEvent is the stream event of an export job's INSERT with image img.
func (st *Stack) ExportJobEvent(img map[string]events.DynamoDBAttributeValue) events.DynamoDBEvent {
	seq := st.stream.seq.Add(1)
	return events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		AWSRegion: "us-east-1", EventID: strconv.FormatInt(seq, 10), EventName: "INSERT", EventSource: "aws:dynamodb", EventVersion: "1.1",
		EventSourceArn: "arn:aws:dynamodb:us-east-1:000000000000:table/" + Table + "/stream/local",
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Now()},
			Keys:                        map[string]events.DynamoDBAttributeValue{"PK": img["PK"], "SK": img["SK"]},
			NewImage:                    img, SequenceNumber: strconv.FormatInt(seq, 10), StreamViewType: "NEW_IMAGE",
		},
	}}}
}

// InvokeExportWorker runs the export worker's handler on ev through the
// Lambda runtime's JSON encoding, as the event source mapping invokes it.
func (st *Stack) InvokeExportWorker(ctx context.Context, ev events.DynamoDBEvent) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = lambda.NewHandler(st.deps.ExportWorker).Invoke(ctx, payload)
	return err
}

// FailS3 makes every S3 request for which fail returns true answer 500
// InternalError, until FailS3(nil).
func (st *Stack) FailS3(fail func(r *http.Request) bool) {
	if fail == nil {
		st.s3Fail.Store(nil)
		return
	}
	st.s3Fail.Store(&fail)
}

// S3Calls returns how many requests reached the S3 emulator.
func (st *Stack) S3Calls() int64 { return st.s3Calls.Load() }

// ExportWorker is the export worker the stack delivers to, for tests to
// tune (its page size) before any export runs.
func (st *Stack) ExportWorker() *export.Worker { return st.deps.Exporter.Worker }
