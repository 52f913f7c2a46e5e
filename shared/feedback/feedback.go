// Package feedback records on each client user what Amazon SES says about
// their invitation email: delivered, bounced or complained about. SES
// publishes these events (through the configuration set every invitation is
// sent with) to EventBridge, whose rule invokes the feedback function.
package feedback

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/dynamo"
)

// Tags that invitations carry, so that SES's events name their user.
const (
	TagPortal = "portal"
	TagUser   = "user"
)

// Actor is who records SES's reports in the history.
var Actor = clientele.Actor{Type: "system", ID: "ses"}

// Store is what the handler uses of the table.
type Store interface {
	UpdateUser(ctx context.Context, pid, uid string, actor clientele.Actor, change func(cur clientele.User) (dynamo.UserChange, error)) (clientele.User, error)
	SetInviteError(ctx context.Context, pid, uid, msg string) error
}

// Handler is the feedback function.
type Handler struct {
	Store Store
	Log   *slog.Logger
}

// sesEvent is the detail of an SES event on EventBridge: the event
// publishing record (eventType, mail and the object of its type).
type sesEvent struct {
	EventType string `json:"eventType"`
	Mail      struct {
		MessageID   string              `json:"messageId"`
		Destination []string            `json:"destination"`
		Tags        map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string    `json:"bounceType"`
		BounceSubType     string    `json:"bounceSubType"`
		Timestamp         time.Time `json:"timestamp"`
		BouncedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		ComplaintFeedbackType string    `json:"complaintFeedbackType"`
		Timestamp             time.Time `json:"timestamp"`
		ComplainedRecipients  []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp    time.Time `json:"timestamp"`
		Recipients   []string  `json:"recipients"`
		SMTPResponse string    `json:"smtpResponse"`
	} `json:"delivery"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
}

// report is one recipient's part of an event.
type report struct {
	addr     string
	delivery clientele.Delivery
}

// reports turns an event into what to record per recipient; reject is
// SES's reason when it refused to send the message at all.
func (e sesEvent) reports() (out []report, reject string) {
	id := e.Mail.MessageID
	switch {
	case e.EventType == "Bounce" && e.Bounce != nil:
		detail := strings.Trim(e.Bounce.BounceType+"/"+e.Bounce.BounceSubType, "/")
		for _, r := range e.Bounce.BouncedRecipients {
			out = append(out, report{r.EmailAddress, clientele.Delivery{State: clientele.Bounced, At: e.Bounce.Timestamp, Detail: detail, MessageID: id}})
		}
	case e.EventType == "Complaint" && e.Complaint != nil:
		detail := e.Complaint.ComplaintFeedbackType
		if detail == "" {
			detail = "complaint"
		}
		for _, r := range e.Complaint.ComplainedRecipients {
			out = append(out, report{r.EmailAddress, clientele.Delivery{State: clientele.Complained, At: e.Complaint.Timestamp, Detail: detail, MessageID: id}})
		}
	case e.EventType == "Delivery" && e.Delivery != nil:
		for _, addr := range e.Delivery.Recipients {
			out = append(out, report{addr, clientele.Delivery{State: clientele.Delivered, At: e.Delivery.Timestamp, Detail: e.Delivery.SMTPResponse, MessageID: id}})
		}
	case e.EventType == "Reject" && e.Reject != nil:
		return nil, e.Reject.Reason
	}
	return out, ""
}

// Handle records one SES event. Events of mail without the invitation's
// tags (notices) are ignored; an error (the table unavailable) makes
// EventBridge deliver the event again, which records nothing twice.
func (h *Handler) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	if ev.Source != "aws.ses" {
		return nil
	}
	var e sesEvent
	if err := json.Unmarshal(ev.Detail, &e); err != nil {
		h.Log.ErrorContext(ctx, "SES event not understood", "event_id", ev.ID, "error", err)
		return nil // it will never parse: retrying cannot help
	}
	pid, uid := first(e.Mail.Tags[TagPortal]), first(e.Mail.Tags[TagUser])
	if pid == "" || uid == "" {
		return nil
	}
	reports, reject := e.reports()
	if reject != "" {
		// SES sent nothing: the invitation says so, as when SendEmail fails.
		return h.Store.SetInviteError(ctx, pid, uid, "SES did not send the invitation: "+reject)
	}
	for _, r := range reports {
		_, err := h.Store.UpdateUser(ctx, pid, uid, Actor, func(cur clientele.User) (dynamo.UserChange, error) {
			next, action, ch, ok := cur.RecordDelivery(r.addr, r.delivery)
			if !ok {
				return dynamo.UserChange{}, nil
			}
			return dynamo.UserChange{Next: next, Action: action, Changes: ch}, nil
		})
		if err != nil && clientele.ErrorCode(err) != clientele.NotFound { // deleted since: nothing to record
			return fmt.Errorf("record %s of message %s: %w", r.delivery.State, e.Mail.MessageID, err)
		}
		h.Log.InfoContext(ctx, "SES feedback", "portal", pid, "user", uid, "state", r.delivery.State, "message_id", e.Mail.MessageID)
	}
	return nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
