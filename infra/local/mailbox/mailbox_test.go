package mailbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func client(url string) *sesv2.Client {
	return sesv2.New(sesv2.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
}

func send(c *sesv2.Client, to, subject, text, html string) error {
	body := &types.Body{Text: &types.Content{Data: aws.String(text)}}
	if html != "" {
		body.Html = &types.Content{Data: aws.String(html)}
	}
	_, err := c.SendEmail(context.Background(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("no-reply@clientele.example"),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content:          &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String(subject)}, Body: body}},
	})
	return err
}

func TestMailbox(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	m := New(func() time.Time { return now })
	ses := httptest.NewServer(m.SESHandler())
	defer ses.Close()
	c := client(ses.URL)
	if err := send(c, "ann@example.com", "Welcome <script>x</script>", "Open https://app.example/portal/invite/abc?x=1 now",
		`<p>Hi</p><a href="https://app.example/portal/invite/abc?x=1&amp;y=2">Accept</a>`); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "bob@example.com", "Second", "no links", ""); err != nil {
		t.Fatal(err)
	}
	msgs := m.Messages()
	if len(msgs) != 2 || msgs[0].Subject != "Second" || msgs[1].To[0] != "ann@example.com" || !msgs[1].At.Equal(now) {
		t.Fatalf("messages %+v", msgs)
	}
	want := []string{"https://app.example/portal/invite/abc?x=1", "https://app.example/portal/invite/abc?x=1&y=2"}
	if fmt.Sprint(msgs[1].Links) != fmt.Sprint(want) {
		t.Fatalf("links %v, want %v", msgs[1].Links, want)
	}

	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_local/mail.json" {
			m.JSONHandler().ServeHTTP(w, r)
			return
		}
		m.PageHandler().ServeHTTP(w, r)
	}))
	defer pages.Close()
	get := func(path string) string {
		resp, err := http.Get(pages.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var listing struct {
		Messages []Message `json:"messages"`
	}
	if err := json.Unmarshal([]byte(get("/_local/mail.json")), &listing); err != nil || len(listing.Messages) != 2 || len(listing.Messages[1].Links) != 2 {
		t.Fatalf("json listing %+v %v", listing, err)
	}
	html := get("/_local/mail")
	if strings.Contains(html, "<script>x</script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Fatal("the page does not escape subjects")
	}
	if !strings.Contains(html, `<a href="https://app.example/portal/invite/abc?x=1">`) {
		t.Fatal("the page does not link the text part's URLs")
	}

	t.Run("failures reach the SDK and store nothing", func(t *testing.T) {
		m.FailWith(http.StatusServiceUnavailable, "ServiceUnavailable")
		if err := send(c, "c@example.com", "Lost", "x", ""); err == nil {
			t.Fatal("SendEmail succeeded")
		}
		m.FailWith(0, "")
		if len(m.Messages()) != 2 {
			t.Fatal("a failed send was stored")
		}
	})

	t.Run("concurrent sends are all kept", func(t *testing.T) {
		m.Reset()
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := send(c, fmt.Sprintf("u%d@example.com", i), "Hi", "x", ""); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := len(m.Messages()); n != 50 {
			t.Fatalf("%d messages, want 50", n)
		}
	})
}
