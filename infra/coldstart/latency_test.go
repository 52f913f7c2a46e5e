package coldstart

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele/clientele/infra/local/mailbox"
)

// testLatency runs the latency path with a few invocations each (a subtest
// of TestBootstraps, on its bench): Latency fails on any wrong answer, so
// its success means every answer was checked right; the statistics and the
// report are checked here. No timing is asserted.
func testLatency(ctx context.Context, t *testing.T, b *Bench) {
	const n = 5
	var rounds []int
	ws, err := b.Latency(ctx, n, func(r int) { rounds = append(rounds, r) })
	if err != nil {
		t.Fatal(err)
	}
	if len(rounds) != n || rounds[n-1] != n {
		t.Errorf("progress got rounds %v, want 1 to %d", rounds, n)
	}
	if len(ws) != len(Endpoints) {
		t.Fatalf("got %d endpoints, want %d", len(ws), len(Endpoints))
	}
	for k, w := range ws {
		if w.Endpoint != Endpoints[k] {
			t.Errorf("endpoint %d: got %+v, want %+v", k, w.Endpoint, Endpoints[k])
		}
		if len(w.Latencies) != n || w.Summary != Summarize(w.Latencies) || w.Summary.N != n {
			t.Errorf("%s: %d latencies, summary %+v; want %d and their summary", w.Name, len(w.Latencies), w.Summary, n)
		}
		for _, d := range append([]time.Duration{w.Cold}, w.Latencies...) {
			if d <= 0 {
				t.Errorf("%s: a latency of %v", w.Name, d)
			}
		}
		if s := w.Summary; s.Median <= 0 || s.P99 < s.Median || s.Max != s.P99 { // p99 of 5 is the largest
			t.Errorf("%s: summary %+v", w.Name, s)
		}
		t.Logf("%s: cold %v, %+v", w.Name, w.Cold, w.Summary)
	}
	var out bytes.Buffer
	if err := Report(&out, ws); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^warm p50/p99 ms: companies \d+\.\d\d/\d+\.\d\d users \d+\.\d\d/\d+\.\d\d me-projects \d+\.\d\d/\d+\.\d\d hello \d+\.\d\d/\d+\.\d\d$`).MatchString(last) {
		t.Errorf("last line %q", last)
	}
	if len(lines) != 3+len(Endpoints)+1 || !strings.HasPrefix(lines[0], "5 warm invocations per endpoint") {
		t.Errorf("report:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}

// testLatencySESDown: a handler that answers wrong (here the users
// function, whose invitation cannot be sent: a 201 carrying the send
// error) fails the run rather than being timed.
func testLatencySESDown(ctx context.Context, t *testing.T, b *Bench) {
	box := mailbox.New(time.Now)
	box.FailWith(400, "MessageRejected")
	_, err := b.latency(ctx, 3, nil, box)
	if err == nil {
		t.Fatal("SES down: the latency run passed")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "users (invocation ") || !strings.Contains(msg, "was not sent") {
		t.Errorf("got %.500s\nwant the users function's invitation not sent", msg)
	}
}

func TestSummarize(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	upTo := func(n int) []time.Duration { // 1 to n ms, shuffled
		ds := make([]time.Duration, n)
		for i := range ds {
			ds[i] = time.Duration(i+1) * time.Millisecond
		}
		r := rand.New(rand.NewPCG(1, 2))
		r.Shuffle(n, func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
		return ds
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Summary
	}{
		{"none", nil, Summary{}},
		{"one", ms(7), Summary{N: 1, Median: 7 * time.Millisecond, P99: 7 * time.Millisecond, Max: 7 * time.Millisecond}},
		{"five", ms(5, 1, 4, 2, 30), Summary{N: 5, Median: 4 * time.Millisecond, P99: 30 * time.Millisecond, Max: 30 * time.Millisecond}},
		{"ninety-nine", upTo(99), Summary{N: 99, Median: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 99 * time.Millisecond}},
		{"hundred", upTo(100), Summary{N: 100, Median: 50500 * time.Microsecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}},
		{"thousand", upTo(1000), Summary{N: 1000, Median: 500500 * time.Microsecond, P99: 990 * time.Millisecond, Max: 1000 * time.Millisecond}},
		{"thousand and one", upTo(1001), Summary{N: 1001, Median: 501 * time.Millisecond, P99: 991 * time.Millisecond, Max: 1001 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			if got := Summarize(tt.in); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatal("Summarize reordered its input")
				}
			}
		})
	}
}

func TestSummaryLess(t *testing.T) {
	tests := []struct {
		name       string
		med, hello time.Duration
		want       time.Duration
	}{
		{"slower", 5 * time.Millisecond, 1200 * time.Microsecond, 3800 * time.Microsecond},
		{"same", time.Millisecond, time.Millisecond, 0},
		{"within the noise", 900 * time.Microsecond, time.Millisecond, -100 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Summary{Median: tt.med}).Less(Summary{Median: tt.hello}); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	ws := []Warm{
		{Endpoint: Endpoints[0], Summary: Summary{N: 2, Median: d(4.75), P99: d(8.481), Max: d(9)}},
		{Endpoint: Endpoints[1], Summary: Summary{N: 2, Median: d(27.3), P99: d(46.7), Max: d(50)}},
		{Endpoint: Endpoints[2], Summary: Summary{N: 2, Median: d(0.9), P99: d(17), Max: d(17)}},
		{Endpoint: Endpoints[3], Latencies: []time.Duration{d(1), d(1.4)}, Summary: Summary{N: 2, Median: d(1.2), P99: d(1.85), Max: d(1.85)}},
	}
	var out bytes.Buffer
	if err := Report(&out, ws); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	want := []string{
		"| endpoint | function | median | p99 | max | median less hello-world's |",
		"|---|---|--:|--:|--:|--:|",
		"| GET /v1/companies | companies | 4.75 ms | 8.48 ms | 9.00 ms | +3.55 ms |",
		"| POST /v1/users | users | 27.30 ms | 46.70 ms | 50.00 ms | +26.10 ms |",
		"| GET /v1/me/projects | client | 0.90 ms | 17.00 ms | 17.00 ms | -0.30 ms |",
		"| hello-world | hello | 1.20 ms | 1.85 ms | 1.85 ms | - |",
		"warm p50/p99 ms: companies 4.75/8.48 users 27.30/46.70 me-projects 0.90/17.00 hello 1.20/1.85",
		"",
	}
	if len(lines) != len(want)+1 || !strings.HasPrefix(lines[0], "2 warm invocations per endpoint") {
		t.Fatalf("got\n%s", out.String())
	}
	for i, w := range want {
		if lines[i+1] != w {
			t.Errorf("line %d: got %q, want %q", i+2, lines[i+1], w)
		}
	}
	if err := Report(&out, ws[:3]); err == nil {
		t.Error("a report without the hello-world: no error")
	}
}

// apiResponse is an emulator's answer carrying an API Gateway response.
func apiResponse(t *testing.T, status int, body string, base64Body bool) []byte {
	t.Helper()
	r := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
	if base64Body {
		r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestChecks: the checks of the answers pass the right ones and fail
// anything else, so that a broken handler fails the run.
func TestChecks(t *testing.T) {
	const (
		cid   = "01JC0MPANY0000000000000000"
		prid  = "01JPR0JECT0000000000000000"
		uid   = "01JXSER0000000000000000000"
		email = "latency-1-abc@example.com"
	)
	companies := func(raw []byte) error { return checkCompanies(raw, cid) }
	users := func(raw []byte) error {
		got, err := checkUserAdded(raw, email, cid)
		if err == nil && got != uid {
			t.Errorf("user id: got %q, want %q", got, uid)
		}
		return err
	}
	myProjects := func(raw []byte) error { return checkMyProjects(raw, prid, "Latency project") }
	user := func(status, invite string) string {
		return `{"created":[{"id":"` + uid + `","email":"` + email + `","companyId":"` + cid + `","status":"` + status + `","invite":` + invite + `}],"failed":[]}`
	}
	sent := `{"state":"pending","lastError":null}`
	project := `{"items":[{"projectId":"` + prid + `","name":"Latency project","permissions":{"viewProject":true},"customizedPermissions":false}],"nextCursor":null}`
	tests := []struct {
		name  string
		check func([]byte) error
		raw   []byte
		ok    bool
	}{
		{"hello", checkHello, []byte(`"hello"`), true},
		{"hello, other", checkHello, []byte(`"bye"`), false},
		{"hello, function error", checkHello, []byte(`{"errorType":"Runtime.ExitError","errorMessage":"exit status 2"}`), false},

		{"companies", companies, apiResponse(t, 200, `{"items":[{"id":"`+cid+`","name":"Latency 1"}],"nextCursor":null}`, false), true},
		{"companies, base64", companies, apiResponse(t, 200, `{"items":[{"id":"`+cid+`","name":"Latency 1"}],"nextCursor":null}`, true), true},
		{"companies, not listed", companies, apiResponse(t, 200, `{"items":[],"nextCursor":null}`, false), false},
		{"companies, 500", companies, apiResponse(t, 500, `{"type":"about:blank","status":500}`, false), false},
		{"companies, 401", companies, apiResponse(t, 401, `{"items":[{"id":"`+cid+`","name":"x"}]}`, false), false},
		{"companies, not JSON", companies, apiResponse(t, 200, `<html>`, false), false},
		{"companies, function error", companies, []byte(`{"errorType":"Runtime.ExitError","errorMessage":"signal: killed"}`), false},
		{"companies, not an API response", companies, []byte(`"hello"`), false},

		{"users", users, apiResponse(t, 201, user("invited", sent), false), true},
		{"users, 200", users, apiResponse(t, 200, user("invited", sent), false), false},
		{"users, invitation not sent", users, apiResponse(t, 201, user("invited", `{"state":"pending","lastError":"the invitation email could not be sent; re-invite the user"}`), false), false},
		{"users, no invite", users, apiResponse(t, 201, user("invited", `null`), false), false},
		{"users, active", users, apiResponse(t, 201, user("active", sent), false), false},
		{"users, another address", users, apiResponse(t, 201, strings.Replace(user("invited", sent), email, "other@example.com", 1), false), false},
		{"users, some failed", users, apiResponse(t, 207, `{"created":[],"failed":[{"email":"x"}]}`, false), false},
		{"users, none", users, apiResponse(t, 201, `{"created":[],"failed":[]}`, false), false},

		{"me-projects", myProjects, apiResponse(t, 200, project, false), true},
		{"me-projects, none", myProjects, apiResponse(t, 200, `{"items":[],"nextCursor":null}`, false), false},
		{"me-projects, another project", myProjects, apiResponse(t, 200, strings.Replace(project, prid, cid, 1), false), false},
		{"me-projects, 401", myProjects, apiResponse(t, 401, `{"type":"about:blank","status":401}`, false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.raw)
			if (err == nil) != tt.ok {
				t.Errorf("got error %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestCheckMail(t *testing.T) {
	fx := &fixture{portal: "demo", invited: map[string]string{"a@example.com": "U1", "b@example.com": "U2"}}
	msg := func(to, uid string, links ...string) mailbox.Message {
		return mailbox.Message{To: []string{to}, Tags: map[string]string{"portal": "demo", "user": uid}, Links: links}
	}
	link := "http://127.0.0.1:3000/portal/invite/demo.abc"
	tests := []struct {
		name string
		msgs []mailbox.Message
		ok   bool
	}{
		{"each once", []mailbox.Message{msg("a@example.com", "U1", link), msg("b@example.com", "U2", link)}, true},
		{"one missing", []mailbox.Message{msg("a@example.com", "U1", link)}, false},
		{"one twice", []mailbox.Message{msg("a@example.com", "U1", link), msg("b@example.com", "U2", link), msg("b@example.com", "U2", link)}, false},
		{"a stranger", []mailbox.Message{msg("a@example.com", "U1", link), msg("b@example.com", "U2", link), msg("c@example.com", "U3", link)}, false},
		{"wrong user tag", []mailbox.Message{msg("a@example.com", "U2", link), msg("b@example.com", "U2", link)}, false},
		{"no link", []mailbox.Message{msg("a@example.com", "U1"), msg("b@example.com", "U2", link)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := fx.checkMail(tt.msgs); (err == nil) != tt.ok {
				t.Errorf("got error %v, want ok %v", err, tt.ok)
			}
		})
	}
}
