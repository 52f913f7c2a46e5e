package ses

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/clientele/clientele/infra/local/mailbox"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/mail"
)

const from = "Clientele <no-reply@clientele.example>"

var now = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// newMailer returns a Mailer whose real SES v2 client talks to url.
func newMailer(url string) *Mailer {
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1, // failures stay fast
	}
	return New(Client(cfg, url), from, "clientele-test")
}

// newLocal starts the local stack's mailbox behind an httptest server.
func newLocal(t *testing.T) (*Mailer, *mailbox.Mailbox) {
	t.Helper()
	box := mailbox.New(func() time.Time { return now })
	srv := httptest.NewServer(box.SESHandler())
	t.Cleanup(srv.Close)
	return newMailer(srv.URL), box
}

func invitation() mail.Invitation {
	return mail.Invitation{
		UserName:    "Ann Lee",
		CompanyName: "Acme Corp",
		PortalName:  "Demo Agency",
		InviteURL:   "http://127.0.0.1:3000/portal/invite/tok_AbC-123",
		ExpiresAt:   time.Date(2026, 11, 29, 10, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
}

func TestSend(t *testing.T) {
	inv := mustRender(t, invitation())
	inv.To = "ann.lee@example.com"
	tests := []struct {
		name string
		msg  mail.Message
	}{
		{"invitation", inv},
		{"text only", mail.Message{To: "bob@example.com", Subject: "Hi", Text: "plain https://x.example/a"}},
		{"html only", mail.Message{To: "Bob@Example.com", Subject: "Hi", HTML: "<p>Hi</p>"}},
		{"unicode", mail.Message{To: "zoë@example.com", Subject: "Grüße ✓", Text: "Ça va ?", HTML: "<p>Ça va&nbsp;?</p>",
			Tags: map[string]string{"a": "1", "b_c": "x-y"}}},
		{"a tag of 256 characters", mail.Message{To: "bob@example.com", Subject: "Hi", Text: "t", Tags: map[string]string{"a": strings.Repeat("v", 256)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, box := newLocal(t)
			id, err := m.Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			msgs := box.Messages()
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if id == "" || got.ID != id {
				t.Errorf("message ID %q, mailbox has %q", id, got.ID)
			}
			if got.From != from || fmt.Sprint(got.To) != fmt.Sprint([]string{tt.msg.To}) || got.Subject != tt.msg.Subject {
				t.Errorf("got from %q to %v subject %q", got.From, got.To, got.Subject)
			}
			if got.Text != tt.msg.Text || got.HTML != tt.msg.HTML {
				t.Errorf("parts differ:\ntext %q\nhtml %q", got.Text, got.HTML)
			}
			wantTags := tt.msg.Tags
			if wantTags == nil {
				wantTags = map[string]string{}
			}
			if fmt.Sprint(got.Tags) != fmt.Sprint(wantTags) {
				t.Errorf("tags %v, want %v", got.Tags, wantTags)
			}
			// Every message goes through the configuration set, whose
			// events report its delivery or bounce.
			if got.ConfigurationSet != "clientele-test" {
				t.Errorf("configuration set %q", got.ConfigurationSet)
			}
		})
	}
}

func TestSendInvitationLinks(t *testing.T) {
	m, box := newLocal(t)
	msg := mustRender(t, invitation())
	msg.To = "ann@example.com"
	if _, err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := box.Messages()[0]
	if got.Text == "" || got.HTML == "" {
		t.Fatalf("missing part: text %q html %q", got.Text, got.HTML)
	}
	if want := []string{invitation().InviteURL}; fmt.Sprint(got.Links) != fmt.Sprint(want) {
		t.Fatalf("links %v, want %v", got.Links, want)
	}
}

func TestSendSubjectIsOneLine(t *testing.T) {
	m, box := newLocal(t)
	if _, err := m.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "Hi\r\nBcc: eve@evil.example", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if got, want := box.Messages()[0].Subject, "Hi Bcc: eve@evil.example"; got != want {
		t.Fatalf("subject %q, want %q", got, want)
	}
}

func TestSendInvalidBeforeSending(t *testing.T) {
	ok := mail.Message{To: "a@example.com", Subject: "S", Text: "T"}
	tests := []struct {
		name   string
		change func(*mail.Message)
	}{
		{"no recipient", func(m *mail.Message) { m.To = "" }},
		{"not an address", func(m *mail.Message) { m.To = "nobody" }},
		{"display name", func(m *mail.Message) { m.To = "Ann <a@example.com>" }},
		{"two recipients", func(m *mail.Message) { m.To = "a@example.com, b@example.com" }},
		{"blank subject", func(m *mail.Message) { m.Subject = " \r\n" }},
		{"no body", func(m *mail.Message) { m.Text = "" }},
		{"bad tag name", func(m *mail.Message) { m.Tags = map[string]string{"a b": "1"} }},
		{"empty tag value", func(m *mail.Message) { m.Tags = map[string]string{"a": ""} }},
		{"tag value of 257 characters", func(m *mail.Message) { m.Tags = map[string]string{"a": strings.Repeat("v", 257)} }},
	}
	m, box := newLocal(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := ok
			tt.change(&msg)
			_, err := m.Send(context.Background(), msg)
			if got := clientele.ErrorCode(err); got != clientele.Invalid {
				t.Fatalf("code %q (%v), want %q", got, err, clientele.Invalid)
			}
		})
	}
	if n := len(box.Messages()); n != 0 {
		t.Fatalf("%d messages sent, want none", n)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		status int
		typ    string
		want   clientele.Code
	}{
		{503, "ServiceUnavailable", clientele.Unavailable},
		{500, "InternalFailure", clientele.Unavailable},
		{500, "InternalServiceErrorException", clientele.Unavailable},
		{502, "", clientele.Unavailable},
		{429, "TooManyRequestsException", clientele.Unavailable},
		{400, "Throttling", clientele.Unavailable},
		{400, "LimitExceededException", clientele.Unavailable},
		{400, "SendingPausedException", clientele.Unavailable},
		{400, "AccountSuspendedException", clientele.Unavailable},
		{400, "MessageRejected", clientele.Invalid},
		{400, "MailFromDomainNotVerifiedException", clientele.Invalid},
		{400, "BadRequestException", clientele.Invalid},
		{404, "NotFoundException", clientele.Internal},
		{403, "AccessDeniedException", clientele.Internal},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.typ), func(t *testing.T) {
			t.Parallel()
			m, box := newLocal(t)
			box.FailWith(tt.status, tt.typ)
			id, err := m.Send(context.Background(), mail.Message{To: "ann@example.com", Subject: "S", Text: "T"})
			checkError(t, err, tt.want)
			if id != "" {
				t.Errorf("message ID %q on failure", id)
			}
			// SES's text stays in the wrapped cause only.
			if e, _ := errors.AsType[*clientele.Error](err); strings.Contains(e.Message, "injected failure") ||
				(tt.typ != "" && strings.Contains(e.Message, tt.typ)) || e.Err == nil {
				t.Errorf("message %q leaks SES text or lost the cause (%v)", e.Message, e.Err)
			}
			if !strings.Contains(err.Error(), "injected failure") {
				t.Errorf("cause not kept: %v", err)
			}
			box.FailWith(0, "")
			if _, err := m.Send(context.Background(), mail.Message{To: "ann@example.com", Subject: "S", Text: "T"}); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

func checkError(t *testing.T, err error, want clientele.Code) {
	t.Helper()
	e, ok := errors.AsType[*clientele.Error](err)
	if !ok {
		t.Fatalf("got %T %v, want *clientele.Error", err, err)
	}
	if e.Code != want {
		t.Fatalf("code %q (%v), want %q", e.Code, err, want)
	}
	if (e.RetryAfter > 0) != (want == clientele.Unavailable) {
		t.Fatalf("RetryAfter %v with code %q", e.RetryAfter, e.Code)
	}
}

func TestSendUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	_, err := newMailer(url).Send(context.Background(), mail.Message{To: "ann@example.com", Subject: "S", Text: "T"})
	checkError(t, err, clientele.Unavailable)
}

func TestSendCanceled(t *testing.T) {
	m, box := newLocal(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Send(ctx, mail.Message{To: "ann@example.com", Subject: "S", Text: "T"})
	checkError(t, err, clientele.Unavailable)
	if n := len(box.Messages()); n != 0 {
		t.Fatalf("%d messages sent, want none", n)
	}
}

func TestSendRedactsRecipient(t *testing.T) {
	const to = "Ann.Lee@example.com"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-ErrorType", "MessageRejected")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "Email address is not verified: ann.lee@EXAMPLE.com"})
	}))
	defer srv.Close()
	_, err := newMailer(srv.URL).Send(context.Background(), mail.Message{To: to, Subject: "S", Text: "T"})
	checkError(t, err, clientele.Invalid)
	if text := strings.ToLower(err.Error()); strings.Contains(text, "ann.lee@example.com") || !strings.Contains(text, "a***@example.com") {
		t.Fatalf("error text %q", err.Error())
	}
	var rejected *types.MessageRejected
	if !errors.As(err, &rejected) {
		t.Fatalf("the SES error is not reachable: %v", err)
	}
}

func TestMaskAddress(t *testing.T) {
	tests := map[string]string{
		"ann.lee@example.com": "a***@example.com",
		"zoë@example.com":     "z***@example.com",
		"Ü@x.example":         "Ü***@x.example",
		"nobody":              "***",
		"@example.com":        "***",
		"":                    "***",
	}
	for in, want := range tests {
		if got := MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func mustRender(t *testing.T, inv mail.Invitation) mail.Message {
	t.Helper()
	msg, err := mail.RenderInvitation(inv)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
