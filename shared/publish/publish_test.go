package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/clientele/clientele/infra/local/eventbus"
)

// historyRecord is the stream record of a history item, as the table's
// stream delivers it.
func historyRecord(id, pk, action, changes string) events.DynamoDBEventRecord {
	s := events.NewStringAttribute
	return events.DynamoDBEventRecord{EventName: "INSERT", EventID: "e-" + id, Change: events.DynamoDBStreamRecord{
		NewImage: map[string]events.DynamoDBAttributeValue{
			"PK": s(pk), "SK": s("H#" + id), "type": s("history"), "at": s("2026-11-22T09:00:00.000Z"),
			"actorType": s("staff"), "actorId": s("owner-1"), "action": s(action), "changes": s(changes),
		}}}
}

func newPublisher(t *testing.T) (*Publisher, *eventbus.Bus) {
	bus := eventbus.New(func() time.Time { return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC) })
	srv := httptest.NewServer(bus.Handler())
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}
	p := New(Client(cfg, srv.URL), "clientele-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.Backoff = func(int) time.Duration { return 0 }
	return p, bus
}

func TestHandle(t *testing.T) {
	p, bus := newPublisher(t)
	var recs []events.DynamoDBEventRecord
	for i := range 23 {
		recs = append(recs, historyRecord(fmt.Sprintf("01JD%022d", i), "P#demo#U#01JDUSER", "user.updated", `{"name":{"from":"a","to":"b"}}`))
	}
	// Not history, not an INSERT, or a history item that cannot decode:
	// none is published, and none stops the others.
	other := historyRecord("x", "P#demo#U#01JDUSER", "user.updated", "{}")
	other.Change.NewImage["type"] = events.NewStringAttribute("export_job")
	removed := historyRecord("y", "P#demo#U#01JDUSER", "user.updated", "{}")
	removed.EventName = "REMOVE"
	broken := historyRecord("z", "P#demo#U#01JDUSER", "user.updated", "not json")
	recs = append(recs, other, removed, broken)

	if err := p.Handle(t.Context(), events.DynamoDBEvent{Records: recs}); err != nil {
		t.Fatal(err)
	}
	got := bus.Events()
	if len(got) != 23 || bus.Calls() != 3 {
		t.Fatalf("%d events in %d requests, want 23 in 3 (10 + 10 + 3)", len(got), bus.Calls())
	}
	// Oldest last (the bus lists newest first): order kept.
	e := got[len(got)-1]
	var d Detail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		t.Fatal(err)
	}
	if e.Source != "clientele" || e.DetailType != "user.updated" || e.Bus != "clientele-test" || !e.Time.Equal(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)) ||
		d.ID != fmt.Sprintf("01JD%022d", 0) || d.PortalID != "demo" || d.Resource != "user" || d.ResourceID != "01JDUSER" ||
		d.Actor.Type != "staff" || d.Actor.ID != "owner-1" || d.Action != "user.updated" || d.Changes["name"].To != "b" {
		t.Fatalf("event %+v detail %+v", e, d)
	}
}

// TestPartialFailures: PutEvents refuses some entries (200 with
// FailedEntryCount); they are sent again, alone, and each event is
// published once. Refused every time, the batch fails, for the trigger to
// deliver again.
func TestPartialFailures(t *testing.T) {
	for _, tt := range []struct {
		name      string
		refusals  int32 // how many times the bus refuses entry 3
		wantErr   bool
		wantCalls int
	}{
		{"refused once", 1, false, 2},
		{"refused up to the retries", 3, false, 4},
		{"refused past the retries", 4, true, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, bus := newPublisher(t)
			var refused atomic.Int32
			bus.Fail(func(e eventbus.Event) bool {
				return strings.Contains(string(e.Detail), `"id":"03"`) && refused.Add(1) <= tt.refusals
			})
			var recs []events.DynamoDBEventRecord
			for i := range 5 {
				recs = append(recs, historyRecord(fmt.Sprintf("%02d", i), "P#demo#C#01JDCOMPANY", "company.updated", "{}"))
			}
			err := p.Handle(t.Context(), events.DynamoDBEvent{Records: recs})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if bus.Calls() != tt.wantCalls {
				t.Fatalf("%d requests, want %d", bus.Calls(), tt.wantCalls)
			}
			want := 5
			if tt.wantErr {
				want = 4
			}
			ids := map[string]int{}
			for _, e := range bus.Events() {
				var d Detail
				_ = json.Unmarshal(e.Detail, &d)
				ids[d.ID]++
			}
			if len(bus.Events()) != want || len(ids) != want {
				t.Fatalf("events by id %v, want %d each once", ids, want)
			}
		})
	}
}

// TestBatchSize: requests stay within PutEvents' 256 KiB, whatever the
// entries' sizes.
func TestBatchSize(t *testing.T) {
	p, bus := newPublisher(t)
	big := `{"note":{"to":"` + strings.Repeat("x", 60*1024) + `"}}`
	var recs []events.DynamoDBEventRecord
	for i := range 9 {
		recs = append(recs, historyRecord(fmt.Sprintf("%02d", i), "P#demo#U#01JDUSER", "user.updated", big))
	}
	if err := p.Handle(t.Context(), events.DynamoDBEvent{Records: recs}); err != nil {
		t.Fatal(err)
	}
	// 4 entries of 60 KiB and more fit in 256 KiB: 4 + 4 + 1.
	if len(bus.Events()) != 9 || bus.Calls() != 3 {
		t.Fatalf("%d events in %d requests, want 9 in 3", len(bus.Events()), bus.Calls())
	}
}

func TestHandleCancelled(t *testing.T) {
	p, bus := newPublisher(t)
	bus.Fail(func(eventbus.Event) bool { return true })
	p.Backoff = func(int) time.Duration { return time.Hour }
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := p.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{historyRecord("01", "P#demo#U#u", "user.updated", "{}")}})
	if err == nil {
		t.Fatal("a cancelled context: no error")
	}
}

// TestHandleTwice: a batch delivered twice (at least once) is published
// twice with the same detail ids, the key consumers drop repeats by.
func TestHandleTwice(t *testing.T) {
	p, bus := newPublisher(t)
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		historyRecord("01", "P#demo#U#u1", "user.invited", "{}"), historyRecord("02", "P#demo#C#c1", "company.updated", "{}")}}
	for range 2 {
		if err := p.Handle(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]int{}
	for _, e := range bus.Events() {
		var d Detail
		_ = json.Unmarshal(e.Detail, &d)
		ids[d.ID+" "+d.Resource]++
	}
	if len(ids) != 2 || ids["01 user"] != 2 || ids["02 company"] != 2 {
		t.Fatalf("events by detail id %v", ids)
	}
}
