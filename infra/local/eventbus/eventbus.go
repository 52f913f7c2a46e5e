// Package eventbus is the local stack's EventBridge: a PutEvents endpoint
// (the AWS JSON 1.1 protocol the SDK speaks) that keeps every event and
// lists them at /_local/events. Production code only sees an endpoint URL.
// Dev and tests only.
package eventbus

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Event is one event as EventBridge would deliver it to a rule's target.
type Event struct {
	ID         string          `json:"id"`
	Bus        string          `json:"bus"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       time.Time       `json:"time"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Bus keeps events; safe for concurrent use.
type Bus struct {
	mu     sync.Mutex
	now    func() time.Time
	events []Event
	seq    int
	fail   func(Event) bool
	calls  int
}

// New returns an empty bus.
func New(now func() time.Time) *Bus { return &Bus{now: now} }

// Events returns every event kept, newest first.
func (b *Bus) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.events)
	slices.Reverse(out)
	return out
}

// Calls is how many PutEvents requests arrived.
func (b *Bus) Calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// Fail makes PutEvents refuse every entry for which fail returns true, as
// EventBridge does (200, FailedEntryCount, an ErrorCode per refused entry),
// until Fail(nil).
func (b *Bus) Fail(fail func(Event) bool) {
	b.mu.Lock()
	b.fail = fail
	b.mu.Unlock()
}

type putEventsInput struct {
	Entries []struct {
		EventBusName string   `json:"EventBusName"`
		Source       string   `json:"Source"`
		DetailType   string   `json:"DetailType"`
		Detail       string   `json:"Detail"`
		Resources    []string `json:"Resources"`
		Time         *float64 `json:"Time"` // epoch seconds
	} `json:"Entries"`
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

func awsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// Handler serves PutEvents (POST / with X-Amz-Target AWSEvents.PutEvents).
func (b *Bus) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
			awsError(w, http.StatusBadRequest, "UnknownOperationException", "only PutEvents is emulated")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var in putEventsInput
		if err == nil {
			err = json.Unmarshal(body, &in)
		}
		if err != nil {
			awsError(w, http.StatusBadRequest, "SerializationException", "malformed body")
			return
		}
		// PutEvents' own limits: 1 to 10 entries, 256 KiB in all.
		size := 0
		for _, e := range in.Entries {
			size += 14 + len(e.Source) + len(e.DetailType) + len(e.Detail)
			for _, res := range e.Resources {
				size += len(res)
			}
		}
		switch {
		case len(in.Entries) < 1 || len(in.Entries) > 10:
			awsError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10 (got %d)", len(in.Entries)))
			return
		case size > 256*1024:
			awsError(w, http.StatusBadRequest, "ValidationException", "Total size of the entries in the request is over the limit.")
			return
		}
		out := struct {
			FailedEntryCount int           `json:"FailedEntryCount"`
			Entries          []resultEntry `json:"Entries"`
		}{Entries: make([]resultEntry, len(in.Entries))}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.calls++
		for i, e := range in.Entries {
			ev := Event{Bus: e.EventBusName, Source: e.Source, DetailType: e.DetailType, Resources: e.Resources, Time: b.now().UTC()}
			if e.Time != nil {
				ev.Time = time.UnixMilli(int64(*e.Time * 1000)).UTC()
			}
			if ev.Resources == nil {
				ev.Resources = []string{}
			}
			var detail map[string]any
			switch {
			case e.Source == "" || e.DetailType == "" || e.Detail == "":
				out.Entries[i] = resultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameters Source, DetailType and Detail are required."}
			case json.Unmarshal([]byte(e.Detail), &detail) != nil:
				out.Entries[i] = resultEntry{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
			case b.fail != nil && b.fail(Event{Bus: ev.Bus, Source: ev.Source, DetailType: ev.DetailType, Detail: json.RawMessage(e.Detail)}):
				out.Entries[i] = resultEntry{ErrorCode: "InternalFailure", ErrorMessage: "injected failure"}
			default:
				b.seq++
				ev.ID = fmt.Sprintf("local-event-%06d", b.seq)
				ev.Detail = json.RawMessage(e.Detail)
				b.events = append(b.events, ev)
				out.Entries[i] = resultEntry{EventID: ev.ID}
				continue
			}
			out.FailedEntryCount++
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// JSONHandler serves GET /_local/events: every event kept, newest first;
// ?detail-type= keeps those of one type.
func (b *Bus) JSONHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		events := b.Events()
		if t := r.URL.Query().Get("detail-type"); t != "" {
			events = slices.DeleteFunc(events, func(e Event) bool { return e.DetailType != t })
		}
		if events == nil {
			events = []Event{}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"events": events})
	})
}
