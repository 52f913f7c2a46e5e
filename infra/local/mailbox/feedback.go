package mailbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Kinds of feedback the mailbox can report, as SES's event types.
var feedbackKinds = map[string]struct{ detailType, eventType string }{
	"delivery":  {"Email Delivered", "Delivery"},
	"bounce":    {"Email Bounced", "Bounce"},
	"complaint": {"Email Complaint Received", "Complaint"},
	"reject":    {"Email Rejected", "Reject"},
}

// Errors of Feedback.
var (
	ErrNoMessage       = errors.New("no such message")
	ErrNoConfigSet     = errors.New("the message was sent without a configuration set: SES publishes no events for it")
	ErrUnknownFeedback = errors.New("feedback is delivery, bounce or complaint")
)

// Feedback is the event SES would publish to EventBridge about message id:
// its recipients' delivery, a permanent bounce, a complaint, or SES's
// refusal to send it (a virus: reject), with the
// message's tags and configuration set, as a rule on the default bus passes
// it to its target.
func (m *Mailbox) Feedback(id, kind string) (events.EventBridgeEvent, error) {
	k, ok := feedbackKinds[kind]
	if !ok {
		return events.EventBridgeEvent{}, ErrUnknownFeedback
	}
	m.mu.Lock()
	var msg *Message
	for i := range m.messages {
		if m.messages[i].ID == id {
			msg = &m.messages[i]
		}
	}
	var at time.Time
	if msg != nil {
		m.seq++
		at = m.now().UTC()
	}
	seq := m.seq
	m.mu.Unlock()
	switch {
	case msg == nil:
		return events.EventBridgeEvent{}, ErrNoMessage
	case msg.ConfigurationSet == "":
		return events.EventBridgeEvent{}, ErrNoConfigSet
	}
	to := append(append(append([]string{}, msg.To...), msg.Cc...), msg.Bcc...)
	tags := map[string][]string{"ses:configuration-set": {msg.ConfigurationSet}, "ses:source-ip": {"127.0.0.1"}, "ses:caller-identity": {"local"}}
	for k, v := range msg.Tags {
		tags[k] = []string{v}
	}
	stamp := at.Format("2006-01-02T15:04:05.000Z")
	detail := map[string]any{
		"eventType": k.eventType,
		"mail": map[string]any{"timestamp": msg.At.Format("2006-01-02T15:04:05.000Z"), "source": msg.From, "sendingAccountId": "000000000000",
			"messageId": msg.ID, "destination": to, "headersTruncated": false, "tags": tags},
	}
	var recipients []map[string]string
	for _, addr := range to {
		recipients = append(recipients, map[string]string{"emailAddress": addr})
	}
	switch kind {
	case "delivery":
		detail["delivery"] = map[string]any{"timestamp": stamp, "processingTimeMillis": 412, "recipients": to,
			"smtpResponse": "250 2.6.0 Message received", "reportingMTA": "local.clientele"}
	case "bounce":
		for _, r := range recipients {
			r["action"], r["status"], r["diagnosticCode"] = "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"
		}
		detail["bounce"] = map[string]any{"feedbackId": fmt.Sprintf("local-feedback-%06d", seq), "bounceType": "Permanent",
			"bounceSubType": "General", "bouncedRecipients": recipients, "timestamp": stamp, "reportingMTA": "dsn; local.clientele"}
	case "reject":
		detail["reject"] = map[string]any{"reason": "Bad content"}
	case "complaint":
		detail["complaint"] = map[string]any{"feedbackId": fmt.Sprintf("local-feedback-%06d", seq), "complaintFeedbackType": "abuse",
			"complainedRecipients": recipients, "timestamp": stamp, "arrivalDate": stamp, "userAgent": "local"}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return events.EventBridgeEvent{}, err
	}
	return events.EventBridgeEvent{Version: "0", ID: fmt.Sprintf("local-ses-event-%06d", seq), DetailType: k.detailType,
		Source: "aws.ses", AccountID: "000000000000", Time: at, Region: "us-east-1",
		Resources: []string{"arn:aws:ses:us-east-1:000000000000:configuration-set/" + msg.ConfigurationSet}, Detail: b}, nil
}
