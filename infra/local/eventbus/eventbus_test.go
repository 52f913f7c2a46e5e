package eventbus

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPutEvents(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	entry := func(detail string) string {
		return `{"EventBusName":"b","Source":"s","DetailType":"t","Detail":` + detail + `,"Time":1763802000.5}`
	}
	entries := func(n int) string {
		var parts []string
		for range n {
			parts = append(parts, entry(`"{}"`))
		}
		return `{"Entries":[` + strings.Join(parts, ",") + `]}`
	}
	for _, tt := range []struct {
		name, target, body string
		status             int
		want               string // in the answer
		kept               int
	}{
		{"one", "AWSEvents.PutEvents", entries(1), 200, `"FailedEntryCount":0`, 1},
		{"ten", "AWSEvents.PutEvents", entries(10), 200, `"FailedEntryCount":0`, 10},
		{"eleven", "AWSEvents.PutEvents", entries(11), 400, `"__type":"ValidationException"`, 0},
		{"none", "AWSEvents.PutEvents", `{"Entries":[]}`, 400, `ValidationException`, 0},
		{"too large", "AWSEvents.PutEvents", `{"Entries":[` + entry(`"{\"a\":\"`+strings.Repeat("x", 256*1024)+`\"}"`) + `]}`, 400, `over the limit`, 0},
		{"malformed detail", "AWSEvents.PutEvents", `{"Entries":[` + entry(`"not json"`) + `,` + entry(`"{}"`) + `]}`, 200, `"FailedEntryCount":1,"Entries":[{"ErrorCode":"MalformedDetail"`, 1},
		{"no source", "AWSEvents.PutEvents", `{"Entries":[{"DetailType":"t","Detail":"{}"}]}`, 200, `"ErrorCode":"InvalidArgument"`, 0},
		{"another operation", "AWSEvents.ListRules", `{}`, 400, `UnknownOperationException`, 0},
		{"not JSON", "AWSEvents.PutEvents", `{`, 400, `SerializationException`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := New(func() time.Time { return now })
			srv := httptest.NewServer(b.Handler())
			defer srv.Close()
			req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(tt.body))
			req.Header.Set("X-Amz-Target", tt.target)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var raw json.RawMessage
			_ = json.NewDecoder(res.Body).Decode(&raw)
			if res.StatusCode != tt.status || !strings.Contains(string(raw), tt.want) || len(b.Events()) != tt.kept {
				t.Fatalf("%d %s, %d kept; want %d with %s, %d kept", res.StatusCode, raw, len(b.Events()), tt.status, tt.want, tt.kept)
			}
			if tt.kept > 0 {
				e := b.Events()[0]
				if !e.Time.Equal(time.Unix(1763802000, 5e8).UTC()) || e.Bus != "b" || e.Source != "s" || e.DetailType != "t" || e.ID == "" {
					t.Fatalf("event %+v", e)
				}
			}
		})
	}
}

func TestJSONHandler(t *testing.T) {
	b := New(time.Now)
	b.events = []Event{{ID: "1", DetailType: "a"}, {ID: "2", DetailType: "b"}, {ID: "3", DetailType: "a"}}
	for _, tt := range []struct {
		query string
		want  []string
	}{{"", []string{"3", "2", "1"}}, {"?detail-type=a", []string{"3", "1"}}, {"?detail-type=none", nil}} {
		rec := httptest.NewRecorder()
		b.JSONHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/_local/events"+tt.query, nil))
		var body struct{ Events []Event }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Events == nil {
			t.Fatalf("%s: %s %v", tt.query, rec.Body, err)
		}
		var got []string
		for _, e := range body.Events {
			got = append(got, e.ID)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
}
