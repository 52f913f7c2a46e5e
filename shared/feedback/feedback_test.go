package feedback

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/clientele"
)

// The SES event records below are shaped as in AWS's examples of event
// publishing (Bounce, Complaint, Delivery, Reject).
func TestReports(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		detail string
		want   []report
		reject string
	}{
		{"bounce", `{"eventType":"Bounce","mail":{"messageId":"m"},"bounce":{"bounceType":"Permanent","bounceSubType":"NoEmail",
			"bouncedRecipients":[{"emailAddress":"a@x.example","status":"5.1.1"},{"emailAddress":"b@x.example"}],"timestamp":"2026-11-22T09:00:00.000Z"}}`,
			[]report{{"a@x.example", clientele.Delivery{State: clientele.Bounced, At: at, Detail: "Permanent/NoEmail", MessageID: "m"}},
				{"b@x.example", clientele.Delivery{State: clientele.Bounced, At: at, Detail: "Permanent/NoEmail", MessageID: "m"}}}, ""},
		{"complaint", `{"eventType":"Complaint","mail":{"messageId":"m"},"complaint":{"complainedRecipients":[{"emailAddress":"a@x.example"}],
			"timestamp":"2026-11-22T09:00:00.000Z","complaintFeedbackType":"abuse"}}`,
			[]report{{"a@x.example", clientele.Delivery{State: clientele.Complained, At: at, Detail: "abuse", MessageID: "m"}}}, ""},
		{"complaint without a type", `{"eventType":"Complaint","mail":{"messageId":"m"},"complaint":{"complainedRecipients":[{"emailAddress":"a@x.example"}],
			"timestamp":"2026-11-22T09:00:00.000Z"}}`,
			[]report{{"a@x.example", clientele.Delivery{State: clientele.Complained, At: at, Detail: "complaint", MessageID: "m"}}}, ""},
		{"delivery", `{"eventType":"Delivery","mail":{"messageId":"m"},"delivery":{"timestamp":"2026-11-22T09:00:00.000Z","recipients":["a@x.example"],
			"smtpResponse":"250 2.6.0 Message received"}}`,
			[]report{{"a@x.example", clientele.Delivery{State: clientele.Delivered, At: at, Detail: "250 2.6.0 Message received", MessageID: "m"}}}, ""},
		{"reject", `{"eventType":"Reject","mail":{"messageId":"m"},"reject":{"reason":"Bad content"}}`, nil, "Bad content"},
		{"an event type it does not record", `{"eventType":"Open","mail":{"messageId":"m"},"open":{}}`, nil, ""},
		{"a type without its object", `{"eventType":"Bounce","mail":{"messageId":"m"}}`, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e sesEvent
			if err := json.Unmarshal([]byte(tt.detail), &e); err != nil {
				t.Fatal(err)
			}
			got, reject := e.reports()
			if reject != tt.reject || len(got) != len(tt.want) {
				t.Fatalf("reports %+v reject %q, want %+v %q", got, reject, tt.want, tt.reject)
			}
			for i := range got {
				if got[i].addr != tt.want[i].addr || got[i].delivery != tt.want[i].delivery {
					t.Errorf("report %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
