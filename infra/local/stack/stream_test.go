package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/clientele/clientele/shared/clientele"
)

// deliveries records what a poller invokes its function with, in place of
// the export worker; fail makes the invocations of a job id fail.
type deliveries struct {
	mu     sync.Mutex
	events []events.DynamoDBEvent
	fail   map[string]bool
}

func (d *deliveries) invoke(_ context.Context, ev events.DynamoDBEvent) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, ev)
	for _, r := range ev.Records {
		if d.fail[r.Change.NewImage["id"].String()] {
			return errors.New("worker down")
		}
	}
	return nil
}

// ids are the job ids of every record delivered, attempts included.
func (d *deliveries) ids() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for _, ev := range d.events {
		for _, r := range ev.Records {
			ids = append(ids, r.Change.NewImage["id"].String())
		}
	}
	return ids
}

// intercept makes st's trigger invoke d instead of the export worker.
func intercept(st *Stack) *deliveries {
	d := &deliveries{fail: map[string]bool{}}
	st.stream.mu.Lock()
	st.stream.invoke = d.invoke
	st.stream.mu.Unlock()
	return d
}

func waitStream(t *testing.T, st *Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.WaitStream(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStreamFromTable: writes made straight to DynamoDB (no API, no proxy
// sniffing) reach the export worker's trigger through the table's real
// stream, filtered, batched, retried and discarded as template.yaml's
// ExportWorkerTrigger says.
func TestStreamFromTable(t *testing.T) {
	st := start(t)
	d := intercept(st)
	ctx := context.Background()
	esm := st.stream.esm
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	job := func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": s("P#demo#EXPORT#" + id), "SK": s("EXPORT"), "type": s("export_job"), "portalId": s("demo"), "id": s(id)}
	}
	put := func(item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("an INSERT of a job only", func(t *testing.T) {
		put(job("J1"))
		if _, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.Table), Key: map[string]types.AttributeValue{"PK": s("P#demo#EXPORT#J1"), "SK": s("EXPORT")},
			UpdateExpression: aws.String("SET #s = :s"), ExpressionAttributeNames: map[string]string{"#s": "status"}, ExpressionAttributeValues: map[string]types.AttributeValue{":s": s("running")}}); err != nil {
			t.Fatal(err)
		}
		put(map[string]types.AttributeValue{"PK": s("P#demo#U#U1"), "SK": s("META"), "type": s("user"), "id": s("U1")})
		put(job("J2"))
		waitStream(t, st)
		if got := d.ids(); !slices.Equal(got, []string{"J1", "J2"}) {
			t.Fatalf("delivered %v, want [J1 J2] (no MODIFY, no other item)", got)
		}
		d.mu.Lock()
		ev := d.events[0]
		d.mu.Unlock()
		r := ev.Records[0]
		if len(ev.Records) != 1 || r.EventName != "INSERT" || r.EventSourceArn != st.streamARN || !strings.Contains(st.streamARN, ":table/"+st.Table+"/stream/") ||
			r.Change.StreamViewType != "NEW_IMAGE" || r.Change.SequenceNumber == "" || r.Change.Keys["SK"].String() != "EXPORT" || r.Change.NewImage["portalId"].String() != "demo" {
			t.Errorf("event %+v", ev)
		}
	})

	t.Run("a failing batch is retried, then discarded to the destination", func(t *testing.T) {
		if esm.MaximumRetryAttempts < 1 || esm.OnFailure == "" {
			t.Fatalf("mapping %+v: this test wants retries and a destination", esm)
		}
		d.mu.Lock()
		d.fail["F1"], d.events = true, nil
		d.mu.Unlock()
		put(job("F1"))
		put(job("J3")) // after F1 on the shard: delivered once F1 is given up
		waitStream(t, st)
		want := slices.Repeat([]string{"F1"}, 1+esm.MaximumRetryAttempts)
		if got := d.ids(); !slices.Equal(got, append(want, "J3")) {
			t.Fatalf("delivered %v, want %v then J3", got, want)
		}
		d.mu.Lock()
		seq := d.events[0].Records[0].Change.SequenceNumber
		d.mu.Unlock()
		f := st.ExportFailures()
		if len(f) != 1 || f[0].Condition != "RetryAttemptsExhausted" || f[0].ApproximateInvokeCount != 1+esm.MaximumRetryAttempts || f[0].Error != "worker down" ||
			f[0].ShardID == "" || f[0].StartSequenceNumber != seq || f[0].EndSequenceNumber != seq || f[0].BatchSize != 1 || f[0].StreamARN != st.streamARN ||
			f[0].ApproximateArrivalOfFirstRecord.IsZero() {
			t.Errorf("failures %+v", f)
		}
	})

	t.Run("a record too old is discarded unseen", func(t *testing.T) {
		d.mu.Lock()
		d.events = nil
		d.mu.Unlock()
		st.stream.mu.Lock()
		st.stream.now = func() time.Time {
			return time.Now().Add(time.Duration(esm.MaximumRecordAgeInSeconds+120) * time.Second)
		}
		st.stream.mu.Unlock()
		put(job("OLD"))
		waitStream(t, st)
		st.stream.mu.Lock()
		st.stream.now = time.Now
		st.stream.mu.Unlock()
		if got := d.ids(); len(got) != 0 {
			t.Errorf("delivered %v", got)
		}
		if f := st.ExportFailures(); len(f) != 2 || f[1].Condition != "RecordAgeExceeded" || f[1].ApproximateInvokeCount != 0 || f[1].Error != "" {
			t.Errorf("failures %+v", f)
		}
	})

	t.Run("held, records wait in the stream", func(t *testing.T) {
		d.mu.Lock()
		d.events = nil
		d.mu.Unlock()
		st.HoldStream(true)
		put(job("H1"))
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := st.WaitStream(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || len(d.ids()) != 0 {
			t.Fatalf("held: WaitStream %v, delivered %v", err, d.ids())
		}
		st.HoldStream(false)
		waitStream(t, st)
		if got := d.ids(); !slices.Equal(got, []string{"H1"}) {
			t.Errorf("delivered %v after the hold", got)
		}
	})

	t.Run("WaitStream returns after the writes before it", func(t *testing.T) {
		d.mu.Lock()
		d.events = nil
		d.mu.Unlock()
		var want []string
		for i := range 30 {
			id := "W" + strconv.Itoa(i)
			want = append(want, id)
			put(job(id))
			waitStream(t, st)
			if got := d.ids(); !slices.Equal(got, want) {
				t.Fatalf("after writing %s: delivered %v", id, got)
			}
		}
	})
}

// TestStreamRunsExportWorker: a job created with the store (not the API)
// is run by the real export worker off the stream.
func TestStreamRunsExportWorker(t *testing.T) {
	st := start(t)
	ctx := context.Background()
	now := st.Store.Now()
	job := clientele.Export{ID: st.Store.NewID(), PortalID: Portal, Scope: clientele.ScopePortal, Status: clientele.ExportPending,
		ObjectKey: "exports/streamtest.csv", FileName: "streamtest.csv", CreatedAt: now, UpdatedAt: now}
	if err := st.Store.CreateExport(ctx, job, nil); err != nil {
		t.Fatal(err)
	}
	waitStream(t, st)
	got, err := st.Store.GetExport(ctx, Portal, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != clientele.ExportReady || len(st.ExportFailures()) != 0 {
		t.Errorf("job %+v, failures %v", got, st.ExportFailures())
	}
}

// fakeStreams is a DynamoDB Streams of shards the test rolls over and whose
// iterators it expires: what DynamoDB Local does only after hours.
type fakeStreams struct {
	mu      sync.Mutex
	shards  []*fakeShard
	expire  map[string]bool // the next GetRecords of the shard fails so
	seq     int
	created time.Time
}

type fakeShard struct {
	id, parent string
	records    []stypes.Record
	closed     bool
}

func (f *fakeStreams) add(shardID, jobID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	sh := f.shards[slices.IndexFunc(f.shards, func(s *fakeShard) bool { return s.id == shardID })]
	sh.records = append(sh.records, stypes.Record{EventName: stypes.OperationTypeInsert, EventSource: aws.String("aws:dynamodb"), Dynamodb: &stypes.StreamRecord{
		SequenceNumber: aws.String(fmt.Sprintf("%021d", f.seq)), ApproximateCreationDateTime: aws.Time(f.created), StreamViewType: stypes.StreamViewTypeNewImage,
		NewImage: map[string]stypes.AttributeValue{"type": &stypes.AttributeValueMemberS{Value: "export_job"}, "id": &stypes.AttributeValueMemberS{Value: jobID}}}})
}

// roll closes the open shard and opens its child.
func (f *fakeStreams) roll(child string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parent := f.shards[len(f.shards)-1]
	parent.closed = true
	f.shards = append(f.shards, &fakeShard{id: child, parent: parent.id})
}

func (f *fakeStreams) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	desc := &stypes.StreamDescription{StreamArn: in.StreamArn}
	start := 0
	if in.ExclusiveStartShardId != nil {
		start = 1 + slices.IndexFunc(f.shards, func(s *fakeShard) bool { return s.id == *in.ExclusiveStartShardId })
	}
	for i, s := range f.shards[start:] {
		if i == 1 { // one shard a page: the poller must follow LastEvaluatedShardId
			desc.LastEvaluatedShardId = aws.String(f.shards[start].id)
			break
		}
		sh := stypes.Shard{ShardId: aws.String(s.id)}
		if s.parent != "" {
			sh.ParentShardId = aws.String(s.parent)
		}
		desc.Shards = append(desc.Shards, sh)
	}
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: desc}, nil
}

func (f *fakeStreams) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sh := f.shards[slices.IndexFunc(f.shards, func(s *fakeShard) bool { return s.id == *in.ShardId })]
	pos := 0
	switch in.ShardIteratorType {
	case stypes.ShardIteratorTypeTrimHorizon:
	case stypes.ShardIteratorTypeAfterSequenceNumber:
		pos = 1 + slices.IndexFunc(sh.records, func(r stypes.Record) bool { return *r.Dynamodb.SequenceNumber == *in.SequenceNumber })
	default:
		return nil, fmt.Errorf("iterator type %s", in.ShardIteratorType)
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(sh.id + "|" + strconv.Itoa(pos))}, nil
}

func (f *fakeStreams) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, p, _ := strings.Cut(*in.ShardIterator, "|")
	pos, _ := strconv.Atoi(p)
	if f.expire[id] {
		delete(f.expire, id)
		return nil, &stypes.ExpiredIteratorException{Message: aws.String("expired")}
	}
	sh := f.shards[slices.IndexFunc(f.shards, func(s *fakeShard) bool { return s.id == id })]
	out := &dynamodbstreams.GetRecordsOutput{Records: slices.Clone(sh.records[pos:])}
	if !sh.closed {
		out.NextShardIterator = aws.String(id + "|" + strconv.Itoa(len(sh.records)))
	}
	return out, nil
}

// TestStreamShards: the poller reads a closed shard to its end, then its
// child from the start, and after an expired iterator goes on after the last
// record it read: every record once, in order.
func TestStreamShards(t *testing.T) {
	esm := exportMapping(t)
	f := &fakeStreams{shards: []*fakeShard{{id: "s1"}}, expire: map[string]bool{}, created: time.Now()}
	d := &deliveries{fail: map[string]bool{}}
	p, err := newPoller(f, "arn:fake", esm, d.invoke, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p.start()
	st := &Stack{stream: p}
	defer p.stop()

	f.add("s1", "a")
	waitStream(t, st)
	f.add("s1", "b") // the last record of s1
	f.roll("s2")
	f.add("s2", "c")
	f.roll("s3") // a grandchild, found on a later page of DescribeStream
	f.add("s3", "d")
	waitStream(t, st)
	f.mu.Lock()
	f.expire["s3"] = true
	f.mu.Unlock()
	f.add("s3", "e")
	waitStream(t, st)
	if got := d.ids(); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("delivered %v, want [a b c d e]", got)
	}
}
