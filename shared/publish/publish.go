// Package publish publishes the history to EventBridge. Every history entry
// is written in the same transaction as the change it records, so the
// table's stream is an outbox: the events function reads the INSERT of each
// history item and publishes it, nothing for a write that did not commit,
// everything that committed at least once.
package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
)

// Source is the source of every event.
const Source = "clientele"

// PutEvents' limits: 10 entries and 256 KiB a request.
const (
	maxEntries = 10
	maxBytes   = 256 * 1024
)

// Detail is an event's detail: one history entry and what it is about.
type Detail struct {
	// ID is the history entry's id, the key to de-duplicate on: delivery is
	// at least once, and EventBridge gives each PutEvents entry an envelope
	// id of its own (the API takes none).
	ID         string            `json:"id"`
	PortalID   string            `json:"portalId"`
	Resource   string            `json:"resource"` // company or user
	ResourceID string            `json:"resourceId"`
	Action     string            `json:"action"` // also the detail-type
	Actor      clientele.Actor   `json:"actor"`
	At         time.Time         `json:"at"`
	Changes    clientele.Changes `json:"changes"`
}

// API is what the publisher uses of EventBridge.
type API interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher is the events function.
type Publisher struct {
	API API
	Bus string
	Log *slog.Logger
	// Retries is how many times entries that PutEvents refused are sent
	// again before the batch fails (and the trigger delivers it again).
	Retries int
	// Backoff is the wait before retry n (from 1); full jitter by default.
	Backoff func(n int) time.Duration
}

// New returns the publisher to bus, with its production retry policy.
func New(api API, bus string, log *slog.Logger) *Publisher {
	return &Publisher{API: api, Bus: bus, Log: log, Retries: 3}
}

// Handle publishes the history items among ev's records, in order, in
// requests of at most 10 entries. An error fails the whole batch: the
// trigger delivers it again, so entries already published are published
// again, which their detail id lets consumers drop.
func (p *Publisher) Handle(ctx context.Context, ev events.DynamoDBEvent) error {
	var entries []types.PutEventsRequestEntry
	for _, rec := range ev.Records {
		if rec.EventName != "INSERT" {
			continue
		}
		h, ok, err := dynamo.StreamHistory(rec.Change.NewImage)
		if err != nil {
			// It will never decode: retrying would only stop the shard.
			p.Log.ErrorContext(ctx, "history record not published", "event_id", rec.EventID, "error", err)
			continue
		}
		if !ok {
			continue
		}
		e, err := p.entry(h)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	for len(entries) > 0 {
		n := batch(entries)
		if err := p.put(ctx, entries[:n]); err != nil {
			return err
		}
		entries = entries[n:]
	}
	return nil
}

func (p *Publisher) entry(h dynamo.HistoryRecord) (types.PutEventsRequestEntry, error) {
	d := Detail{ID: h.Entry.ID, PortalID: h.PortalID, Resource: h.Resource, ResourceID: h.ResourceID,
		Action: h.Entry.Action, Actor: h.Entry.Actor, At: h.Entry.At, Changes: h.Entry.Changes}
	if d.Changes == nil {
		d.Changes = clientele.Changes{}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return types.PutEventsRequestEntry{}, fmt.Errorf("event detail: %w", err)
	}
	return types.PutEventsRequestEntry{EventBusName: aws.String(p.Bus), Source: aws.String(Source),
		DetailType: aws.String(h.Entry.Action), Detail: aws.String(string(b)), Time: aws.Time(h.Entry.At)}, nil
}

// size is an entry's size as PutEvents counts it.
func size(e types.PutEventsRequestEntry) int {
	n := 14 // the Time
	for _, s := range []*string{e.Source, e.DetailType, e.Detail} {
		n += len(aws.ToString(s))
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// batch is how many of entries go in the next request (at least one).
func batch(entries []types.PutEventsRequestEntry) int {
	total := 0
	for i, e := range entries {
		total += size(e)
		if i == maxEntries || (i > 0 && total > maxBytes) {
			return i
		}
	}
	return len(entries)
}

// put sends entries, and again those that PutEvents refused (it answers 200
// with FailedEntryCount), up to Retries times.
func (p *Publisher) put(ctx context.Context, entries []types.PutEventsRequestEntry) error {
	for attempt := 0; ; attempt++ {
		out, err := p.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("put events: %w", err)
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		var failed []types.PutEventsRequestEntry
		var code, msg string
		for i, r := range out.Entries {
			if r.ErrorCode != nil && i < len(entries) {
				failed = append(failed, entries[i])
				code, msg = aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)
			}
		}
		if len(failed) == 0 { // counted but not named: send all again
			failed = entries
		}
		if attempt == p.Retries {
			return fmt.Errorf("put events: %d of %d entries refused (%s: %s)", len(failed), len(entries), code, msg)
		}
		p.Log.WarnContext(ctx, "events refused; sending them again", "refused", len(failed), "error_code", code)
		entries = failed
		if err := p.wait(ctx, attempt+1); err != nil {
			return err
		}
	}
}

func (p *Publisher) wait(ctx context.Context, n int) error {
	d := time.Duration(rand.Int64N(int64(50*time.Millisecond) << n))
	if p.Backoff != nil {
		d = p.Backoff(n)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Client returns an EventBridge client; endpoint overrides the AWS endpoint.
func Client(cfg aws.Config, endpoint string) *eventbridge.Client {
	return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
