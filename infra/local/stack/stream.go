package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/clientele/clientele/infra/template"
	"github.com/clientele/clientele/shared/export"
)

// The export worker runs off the table's real stream, read as Lambda's event
// source mapping reads it, with the mapping's settings from template.yaml
// (ExportWorkerTrigger): its filter, batch size, retries, record age and
// on-failure destination.
//
// What DynamoDB Local 3.3.1 does, measured: a record is in GetRecords as soon
// as the write that made it has returned (none missing in 200
// write-then-read rounds), which is what lets WaitStream be exact; an empty
// GetRecords takes 2-3 ms; one answers at most 1000 records; a table starts
// with one shard, rolled over every 4 hours (SHARD_ROLLOVER_TIME in the
// jar), so a dev stack sees child shards and the tests do not;
// ApproximateCreationDateTime is rounded down to the minute; ARNs and records
// name region "ddblocal"; iterators can be read more than once; a LATEST
// iterator taken on an empty shard reads every later write.

// pollInterval is how long the poller waits after a pass that found nothing,
// and between retries of a failed batch. Lambda polls 4 times a second; a
// test waiting on the stream is woken at once instead (WaitStream).
const pollInterval = 20 * time.Millisecond

// StreamFailure is what the event source mapping sends its on-failure
// destination (the ExportFailures queue) about a batch it gave up on: where
// the batch is in the stream, no record data. Error is the stack's addition
// (AWS sends only functionError "Unhandled").
type StreamFailure struct {
	Condition                       string // RetryAttemptsExhausted or RecordAgeExceeded
	ApproximateInvokeCount          int
	Error                           string // the last invocation's; "" when none was made
	StreamARN, ShardID              string
	StartSequenceNumber             string
	EndSequenceNumber               string
	ApproximateArrivalOfFirstRecord time.Time
	ApproximateArrivalOfLastRecord  time.Time
	BatchSize                       int
	Timestamp                       time.Time
}

// streamsAPI is what the poller uses of DynamoDB Streams.
type streamsAPI interface {
	DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(context.Context, *dynamodbstreams.GetShardIteratorInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(context.Context, *dynamodbstreams.GetRecordsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// poller is one event source mapping: a goroutine reading every shard of a
// stream in order, parents before children, and invoking the function with
// the records that pass the filter.
type poller struct {
	api     streamsAPI
	arn     string
	esm     template.EventSourceMapping
	filters []*filter
	log     *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{} // wakes the poller before its interval ends

	// Owned by the poller's goroutine.
	shards   []*shard
	describe bool // DescribeStream before the next pass

	mu       sync.Mutex
	cond     *sync.Cond
	invoke   func(context.Context, events.DynamoDBEvent) error
	now      func() time.Time // for record ages: real time, as the records' times are
	held     bool
	closed   bool
	passes   uint64 // passes started
	idle     uint64 // the last pass that read no record and had none to deliver
	lastErr  error
	failures []StreamFailure
}

type shard struct {
	id, parent string
	iter       *string // nil: to get (again)
	lastSeq    string  // of the last record read
	ended      bool    // read to its end: a closed shard
	pending    []events.DynamoDBEventRecord
}

// newPoller checks that the stack emulates everything esm asks for.
func newPoller(api streamsAPI, arn string, esm template.EventSourceMapping, invoke func(context.Context, events.DynamoDBEvent) error, log *slog.Logger) (*poller, error) {
	switch {
	case esm.StartingPosition != "LATEST" && esm.StartingPosition != "TRIM_HORIZON":
		return nil, fmt.Errorf("%s: StartingPosition %q: DynamoDB streams take LATEST or TRIM_HORIZON", esm.ID, esm.StartingPosition)
	case esm.BatchSize < 1:
		return nil, fmt.Errorf("%s: BatchSize %d", esm.ID, esm.BatchSize)
	case esm.BisectBatchOnFunctionError, len(esm.FunctionResponseTypes) > 0, esm.TumblingWindowInSeconds > 0, esm.MaximumBatchingWindowInSeconds > 0:
		return nil, fmt.Errorf("%s: the local stack does not emulate BisectBatchOnFunctionError, FunctionResponseTypes, TumblingWindowInSeconds or MaximumBatchingWindowInSeconds", esm.ID)
	}
	p := &poller{api: api, arn: arn, esm: esm, log: log, invoke: invoke, now: time.Now,
		done: make(chan struct{}), kick: make(chan struct{}, 1), describe: true}
	p.cond = sync.NewCond(&p.mu)
	for _, pat := range esm.Filters {
		f, err := compileFilter(pat)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", esm.ID, err)
		}
		p.filters = append(p.filters, f)
	}
	return p, nil
}

// start runs the poller until stop. Every shard is read from TRIM_HORIZON,
// whatever StartingPosition says: the stack has just created the table, so
// the horizon is where LATEST stood when the mapping was made (in AWS, with
// the table), and unlike a LATEST iterator taken in this goroutine it cannot
// miss a write made before the goroutine gets there.
func (p *poller) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(ctx)
}

// stop ends the poller and waits for it (a delivery in flight sees its
// context cancelled).
func (p *poller) stop() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.cancel()
	<-p.done
}

func (p *poller) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *poller) run(ctx context.Context) {
	defer close(p.done)
	for {
		p.mu.Lock()
		p.passes++
		id := p.passes
		p.mu.Unlock()
		busy, err := p.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		p.lastErr = err
		if !busy && err == nil {
			p.idle = id
		}
		held := p.held
		p.cond.Broadcast()
		p.mu.Unlock()
		if err != nil {
			p.log.Warn("stream poll failed", "mapping", p.esm.ID, "error", err)
		} else if busy && !held {
			continue // more may be there: no wait
		}
		// Held, nothing is read until a WaitStream asks or the hold ends.
		var tick <-chan time.Time
		t := time.NewTimer(pollInterval)
		if !held {
			tick = t.C
		}
		select {
		case <-ctx.Done():
		case <-p.kick:
		case <-tick:
		}
		t.Stop()
	}
}

// pass reads each open shard once and delivers what it read. busy reports
// that it read a record, has some left to deliver, or found a shard's end
// (its children are yet to be read).
func (p *poller) pass(ctx context.Context) (busy bool, err error) {
	if p.describe || !slices.ContainsFunc(p.shards, func(s *shard) bool { return !s.ended }) {
		if err := p.refresh(ctx); err != nil {
			return true, err
		}
	}
	for _, sh := range p.shards {
		if sh.ended && len(sh.pending) == 0 {
			continue
		}
		if !p.parentDone(sh) {
			busy = true // Lambda reads a child after its parent
			continue
		}
		if len(sh.pending) == 0 {
			read, err := p.read(ctx, sh)
			if err != nil {
				return true, fmt.Errorf("shard %s: %w", sh.id, err)
			}
			busy = busy || read
		}
		if len(sh.pending) > 0 {
			busy = true
			p.deliver(ctx, sh)
		}
	}
	return busy, nil
}

func (p *poller) parentDone(sh *shard) bool {
	i := slices.IndexFunc(p.shards, func(s *shard) bool { return s.id == sh.parent })
	return i < 0 || p.shards[i].ended && len(p.shards[i].pending) == 0
}

// refresh adds the shards the stream has and the poller does not know yet
// (DescribeStream lists parents before their children).
func (p *poller) refresh(ctx context.Context) error {
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.arn)}
	for {
		out, err := p.api.DescribeStream(ctx, in)
		if err != nil {
			return err
		}
		for _, s := range out.StreamDescription.Shards {
			id := aws.ToString(s.ShardId)
			if !slices.ContainsFunc(p.shards, func(k *shard) bool { return k.id == id }) {
				p.shards = append(p.shards, &shard{id: id, parent: aws.ToString(s.ParentShardId)})
			}
		}
		if in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId; in.ExclusiveStartShardId == nil {
			break
		}
	}
	p.describe = false
	return nil
}

// read takes one GetRecords of sh into its pending records, those that pass
// the filter (Lambda drops the others unseen by the function). It reports
// whether it read any record or reached the shard's end.
func (p *poller) read(ctx context.Context, sh *shard) (bool, error) {
	if sh.iter == nil {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.arn), ShardId: aws.String(sh.id), ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon}
		if sh.lastSeq != "" {
			in.ShardIteratorType, in.SequenceNumber = stypes.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.lastSeq)
		}
		out, err := p.api.GetShardIterator(ctx, in)
		if err != nil {
			return false, err
		}
		if sh.iter = out.ShardIterator; sh.iter == nil {
			sh.ended, p.describe = true, true
			return true, nil
		}
	}
	out, err := p.api.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iter})
	var expired *stypes.ExpiredIteratorException
	var trimmed *stypes.TrimmedDataAccessException
	switch {
	case errors.As(err, &expired): // 15 minutes unread (a long hold): start again after the last record read
		sh.iter = nil
		return true, nil
	case errors.As(err, &trimmed): // older than 24 hours: what is left
		sh.iter, sh.lastSeq = nil, ""
		return true, nil
	case err != nil:
		return false, err
	}
	for _, r := range out.Records {
		rec := p.eventRecord(r)
		sh.lastSeq = rec.Change.SequenceNumber
		ok, err := matchRecord(p.filters, rec)
		if err != nil {
			return false, err
		}
		if ok {
			sh.pending = append(sh.pending, rec)
		}
	}
	if sh.iter = out.NextShardIterator; sh.iter == nil {
		sh.ended, p.describe = true, true
		return true, nil
	}
	return len(out.Records) > 0, nil
}

// deliver invokes the function with sh's pending records, BatchSize at a
// time, until none is left or the stream is held.
func (p *poller) deliver(ctx context.Context, sh *shard) {
	for len(sh.pending) > 0 && ctx.Err() == nil {
		p.mu.Lock()
		held := p.held
		p.mu.Unlock()
		if held {
			return
		}
		n := min(p.esm.BatchSize, len(sh.pending))
		p.deliverBatch(ctx, sh.id, sh.pending[:n:n])
		sh.pending = sh.pending[n:]
	}
}

// deliverBatch invokes the function with batch and retries a failure
// MaximumRetryAttempts times (the shard waits meanwhile, as in Lambda); a
// batch that still fails, or holds a record older than
// MaximumRecordAgeInSeconds, goes to the on-failure destination instead.
func (p *poller) deliverBatch(ctx context.Context, shardID string, batch []events.DynamoDBEventRecord) {
	ev := events.DynamoDBEvent{Records: batch}
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		invoke, now := p.invoke, p.now()
		p.mu.Unlock()
		if max := p.esm.MaximumRecordAgeInSeconds; max >= 0 && now.Sub(batch[0].Change.ApproximateCreationDateTime.Time) > time.Duration(max)*time.Second {
			p.fail(shardID, batch, "RecordAgeExceeded", attempt, nil)
			return
		}
		err := invoke(ctx, ev)
		if err == nil || ctx.Err() != nil {
			return
		}
		if max := p.esm.MaximumRetryAttempts; max >= 0 && attempt >= max {
			p.fail(shardID, batch, "RetryAttemptsExhausted", attempt+1, err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval):
		}
	}
}

func (p *poller) fail(shardID string, batch []events.DynamoDBEventRecord, condition string, invokes int, err error) {
	p.log.Warn("stream batch discarded", "mapping", p.esm.ID, "condition", condition, "shard", shardID, "records", len(batch), "error", err)
	if p.esm.OnFailure == "" {
		return // no destination: the records are just skipped
	}
	first, last := batch[0].Change, batch[len(batch)-1].Change
	f := StreamFailure{Condition: condition, ApproximateInvokeCount: invokes, StreamARN: p.arn, ShardID: shardID,
		StartSequenceNumber: first.SequenceNumber, EndSequenceNumber: last.SequenceNumber,
		ApproximateArrivalOfFirstRecord: first.ApproximateCreationDateTime.Time, ApproximateArrivalOfLastRecord: last.ApproximateCreationDateTime.Time,
		BatchSize: len(batch), Timestamp: time.Now()}
	if err != nil {
		f.Error = err.Error()
	}
	p.mu.Lock()
	p.failures = append(p.failures, f)
	p.mu.Unlock()
}

// eventRecord is r as Lambda hands it to the function (and to the filter).
func (p *poller) eventRecord(r stypes.Record) events.DynamoDBEventRecord {
	rec := events.DynamoDBEventRecord{AWSRegion: aws.ToString(r.AwsRegion), EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
		EventSource: aws.ToString(r.EventSource), EventVersion: aws.ToString(r.EventVersion), EventSourceArn: p.arn}
	if u := r.UserIdentity; u != nil {
		rec.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
	}
	if d := r.Dynamodb; d != nil {
		rec.Change = events.DynamoDBStreamRecord{Keys: eventImage(d.Keys), NewImage: eventImage(d.NewImage), OldImage: eventImage(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType)}
		if t := d.ApproximateCreationDateTime; t != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *t}
		}
	}
	return rec
}

func eventImage(m map[string]stypes.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = eventValue(v)
	}
	return out
}

func eventValue(v stypes.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *stypes.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *stypes.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *stypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *stypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *stypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *stypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *stypes.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *stypes.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = eventValue(e)
		}
		return events.NewListAttribute(l)
	case *stypes.AttributeValueMemberM:
		return events.NewMapAttribute(eventImage(v.Value))
	}
	return events.NewNullAttribute() // NULL, or a type newer than this SDK
}

// startStream starts the event source mappings of the streamed functions
// (the export worker's, the events function's) on the table's stream.
// endpoint is DynamoDB's own, not the proxy's: the proxy's request counts are
// the API's, and the triggers' reads are not.
func (st *Stack) startStream(ctx context.Context, tmpl *template.Template, awsCfg aws.Config, endpoint string, log *slog.Logger) error {
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(st.Table)})
	if err != nil {
		return fmt.Errorf("describe table: %w", err)
	}
	if st.streamARN = aws.ToString(out.Table.LatestStreamArn); st.streamARN == "" {
		return errors.New("the table has no stream (template.yaml's StreamSpecification)")
	}
	api := dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(streamsEndpoint(endpoint)) })
	for _, fn := range []struct {
		id     string
		invoke func(context.Context, events.DynamoDBEvent) error
		poller **poller
	}{
		{"ExportWorkerFunction", st.InvokeExportWorker, &st.stream},
		{"EventsFunction", st.InvokeEvents, &st.events},
	} {
		esm, err := tmpl.EventSourceMapping(fn.id)
		if err != nil {
			return err
		}
		if esm.Source != "Table" {
			return fmt.Errorf("%s reads %q; the local stack has the stream of Table only", esm.ID, esm.Source)
		}
		if !esm.Enabled {
			continue // disabled: nothing is delivered
		}
		p, err := newPoller(api, st.streamARN, esm, fn.invoke, log)
		if err != nil {
			return err
		}
		*fn.poller = p
		p.start()
	}
	return nil
}

// pollers are the running triggers, the export worker's first: waiting on
// them in this order is exact, as the export worker writes no history.
func (st *Stack) pollers() []*poller {
	var out []*poller
	for _, p := range []*poller{st.stream, st.events} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// streamsEndpoint is where the streams of the DynamoDB at endpoint are
// served: the same endpoint for DynamoDB Local (and its look-alikes), a host
// of its own for AWS's (dynamodb.R.amazonaws.com: streams.dynamodb.R...).
func streamsEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || !strings.HasPrefix(u.Host, "dynamodb.") || !strings.HasSuffix(u.Hostname(), ".amazonaws.com") {
		return endpoint
	}
	u.Host = "streams." + u.Host
	return u.String()
}

// HoldStream stops (true) or resumes (false) deliveries: records stay in the
// stream meanwhile, as on a disabled trigger; a delivery already under way
// is not interrupted. For tests that count requests or inject faults and
// must not see the worker's.
func (st *Stack) HoldStream(hold bool) {
	for _, p := range st.pollers() {
		p.mu.Lock()
		p.held = hold
		p.mu.Unlock()
		if !hold {
			p.wake()
		}
	}
}

// WaitStream waits until every record written to the stream before the call
// has been read and delivered, retries and failure destination included, or
// ctx ends. Held, it waits as long as a record is to be delivered.
//
// It waits for a pass of the poller that starts after the call and finds
// nothing to read on any shard and nothing left to deliver: as DynamoDB
// Local shows a record as soon as its write returns, every earlier write has
// then been read, and the one poller goroutine delivers in order. (A
// DynamoDB whose stream lags its writes, AWS's, can show a record after that
// pass: WaitStream is exact on DynamoDB Local only.)
func (st *Stack) WaitStream(ctx context.Context) error {
	for _, p := range st.pollers() {
		if err := p.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (p *poller) wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	target := p.passes + 1
	p.wake()
	for p.idle < target {
		if err := ctx.Err(); err != nil {
			if p.lastErr != nil {
				return fmt.Errorf("%w (the stream's last poll: %v)", err, p.lastErr)
			}
			return err
		}
		if p.closed {
			return errors.New("the stack is closed")
		}
		p.cond.Wait()
	}
	return nil
}

// ExportFailures returns what the export worker's trigger sent its
// on-failure destination (the ExportFailures queue) so far.
func (st *Stack) ExportFailures() []StreamFailure { return st.stream.failed() }

// EventsFailures returns what the events function's trigger sent its
// on-failure destination (the EventsFailures queue) so far.
func (st *Stack) EventsFailures() []StreamFailure { return st.events.failed() }

func (p *poller) failed() []StreamFailure {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.failures)
}

// ExportJobEvent is a stream event of an export job's INSERT with image img,
// for a test to deliver by hand (InvokeExportWorker) what the stream would.
func (st *Stack) ExportJobEvent(img map[string]events.DynamoDBAttributeValue) events.DynamoDBEvent {
	n := st.handSeq.Add(1)
	return events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		AWSRegion: "us-east-1", EventID: "hand-" + strconv.FormatInt(n, 10), EventName: "INSERT", EventSource: "aws:dynamodb", EventVersion: "1.1",
		EventSourceArn: st.streamARN,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Now()},
			Keys:                        map[string]events.DynamoDBAttributeValue{"PK": img["PK"], "SK": img["SK"]},
			NewImage:                    img, SequenceNumber: fmt.Sprintf("hand%017d", n), StreamViewType: "NEW_IMAGE",
		},
	}}}
}

// InvokeExportWorker runs the export worker's handler on ev through the
// Lambda runtime's JSON encoding, as the event source mapping invokes it.
func (st *Stack) InvokeExportWorker(ctx context.Context, ev events.DynamoDBEvent) error {
	return invoke(ctx, st.worker.Handle, ev)
}

// InvokeEvents runs the events function's handler on ev through the Lambda
// runtime's JSON encoding, as the event source mapping invokes it.
func (st *Stack) InvokeEvents(ctx context.Context, ev events.DynamoDBEvent) error {
	return invoke(ctx, st.publisher.Handle, ev)
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
func (st *Stack) ExportWorker() *export.Worker { return st.worker }

// invoke runs a Lambda handler on ev through the runtime's JSON encoding,
// as Lambda invokes it: what the handler sees is what it would see on AWS.
func invoke(ctx context.Context, handler any, ev any) error {
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = lambda.NewHandler(handler).Invoke(ctx, payload)
	return err
}
