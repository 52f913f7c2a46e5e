// Package ses sends Clientele's email through Amazon SES v2. It turns SES
// failures into clientele errors: Unavailable (retry later) when SES
// throttles, is down or cannot be reached, Invalid when SES rejects the
// message. SES error text never reaches a caller-safe message, and no full
// recipient address is written into an error.
package ses

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/mail"
)

// Mailer sends email through SES v2. It is safe for concurrent use.
type Mailer struct {
	client    *sesv2.Client
	from      string
	configSet string
}

// New returns a Mailer that sends from the given address (an SES verified
// identity, optionally with a display name: "Clientele <no-reply@x.com>"),
// through the configuration set configSet ("" for none), whose event
// destination reports deliveries, bounces and complaints.
func New(client *sesv2.Client, from, configSet string) *Mailer {
	return &Mailer{client: client, from: from, configSet: configSet}
}

// Client builds the SES v2 client from an aws.Config; endpoint ("" = AWS) is
// an override for local use (the local stack's mailbox).
func Client(cfg aws.Config, endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// validTag reports whether s may be an SES tag name or value: 1 to 256 of
// A-Z, a-z, 0-9, _ and -. A loop, not a regexp compiled at package init,
// which every cold start would pay for.
func validTag(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Send sends msg and returns the SES message ID.
//
// Errors are *clientele.Error:
//   - Unavailable with RetryAfter when SES throttles, is paused, down or
//     unreachable (5xx, TooManyRequestsException, LimitExceededException,
//     SendingPausedException, AccountSuspendedException, network errors,
//     an expired context);
//   - Invalid when the message is malformed (checked before sending) or SES
//     rejects it (MessageRejected, MailFromDomainNotVerifiedException,
//     BadRequestException);
//   - Internal otherwise.
//
// The SES error is kept only as the wrapped Err, with the recipient's
// address masked in its text.
func (m *Mailer) Send(ctx context.Context, msg mail.Message) (messageID string, err error) {
	if err := validate(msg); err != nil {
		return "", err
	}
	charset := aws.String("UTF-8")
	body := &types.Body{}
	if msg.Text != "" {
		body.Text = &types.Content{Data: aws.String(msg.Text), Charset: charset}
	}
	if msg.HTML != "" {
		body.Html = &types.Content{Data: aws.String(msg.HTML), Charset: charset}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: []string{msg.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(mail.OneLine(msg.Subject)), Charset: charset},
			Body:    body,
		}},
	}
	if m.configSet != "" {
		in.ConfigurationSetName = aws.String(m.configSet)
	}
	names := make([]string, 0, len(msg.Tags))
	for name := range msg.Tags {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(name), Value: aws.String(msg.Tags[name])})
	}
	out, err := m.client.SendEmail(ctx, in)
	if err != nil {
		return "", classify(&redacted{err: err, addr: msg.To})
	}
	return aws.ToString(out.MessageId), nil
}

// validate checks what SES would reject anyway, without a round trip.
func validate(msg mail.Message) error {
	invalid := func(what string) error {
		return &clientele.Error{Code: clientele.Invalid, Message: "the email is invalid: " + what}
	}
	if _, err := clientele.NormalizeEmail(msg.To); err != nil {
		return invalid("the recipient is not one valid email address")
	}
	if mail.OneLine(msg.Subject) == "" {
		return invalid("the subject is empty")
	}
	if msg.Text == "" && msg.HTML == "" {
		return invalid("it has neither a text nor an HTML part")
	}
	for name, value := range msg.Tags {
		if !validTag(name) || !validTag(value) {
			return invalid("tag names and values are 1-256 letters, digits, '_' or '-'")
		}
	}
	return nil
}

// classify maps an error of SendEmail to a clientele error.
func classify(err error) *clientele.Error {
	unavailable := func() *clientele.Error {
		return &clientele.Error{Code: clientele.Unavailable, Message: "the email service is unavailable; try again later",
			RetryAfter: mail.RetryAfter, Err: err}
	}
	rejected := func() *clientele.Error {
		return &clientele.Error{Code: clientele.Invalid, Message: "the email was rejected by the mail service", Err: err}
	}
	var (
		rejectedErr     *types.MessageRejected
		notVerified     *types.MailFromDomainNotVerifiedException
		badRequest      *types.BadRequestException
		tooMany         *types.TooManyRequestsException
		limitExceeded   *types.LimitExceededException
		paused          *types.SendingPausedException
		suspended       *types.AccountSuspendedException
		internalService *types.InternalServiceErrorException
		respErr         *smithyhttp.ResponseError
		sendErr         *smithyhttp.RequestSendError
		netErr          net.Error
		apiErr          smithy.APIError
	)
	switch {
	case errors.As(err, &rejectedErr), errors.As(err, &notVerified), errors.As(err, &badRequest):
		return rejected()
	case errors.As(err, &tooMany), errors.As(err, &limitExceeded), errors.As(err, &paused),
		errors.As(err, &suspended), errors.As(err, &internalService):
		return unavailable()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return unavailable()
	case errors.As(err, &respErr) && (respErr.HTTPStatusCode() >= 500 || respErr.HTTPStatusCode() == 429):
		return unavailable()
	case errors.As(err, &sendErr), errors.As(err, &netErr):
		return unavailable()
	case retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary:
		// The SDK's own view: throttling codes, transient connection errors.
		return unavailable()
	case errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer:
		return unavailable()
	}
	return &clientele.Error{Code: clientele.Internal, Message: "the email could not be sent", Err: err}
}

// redacted hides a recipient address in the text of an SES error (SES may
// quote it, e.g. "Email address is not verified ... ann@example.com") while
// keeping the error itself reachable through errors.As.
type redacted struct {
	err  error
	addr string
}

func (r *redacted) Error() string {
	text := r.err.Error()
	if r.addr == "" {
		return "send email: " + text
	}
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(r.addr))
	masked := MaskAddress(r.addr)
	return fmt.Sprintf("send email to %s: %s", masked, re.ReplaceAllLiteralString(text, masked))
}

func (r *redacted) Unwrap() error { return r.err }

// MaskAddress returns an email address fit for logs: the first character of
// the local part and the domain ("a***@example.com").
func MaskAddress(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	first := []rune(addr[:at])[0]
	return string(first) + "***" + addr[at:]
}
