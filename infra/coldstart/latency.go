package coldstart

// Warm latency: each endpoint's function runs under its own emulator, kept
// running, with DynamoDB Local behind; after the first (cold) invocation,
// every invocation is timed from the invoke request to the end of its
// response, beside the hello-world's invoked the same way, so that the
// median less the hello-world's is the function's own cost (the
// emulator's and the runtime API's round trips are in both).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/clientele/clientele/infra/local/mailbox"
	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/feedback"
	"github.com/clientele/clientele/shared/ids"
)

// Endpoint is what the warm latency run invokes over and over.
type Endpoint struct {
	Name     string // in the summary line
	Function string // the function invoked
	Route    string // the API route; "" for the hello-world
}

// Endpoints are the endpoints timed warm, the hello-world last.
var Endpoints = []Endpoint{
	{Name: "companies", Function: "companies", Route: "GET /v1/companies"},
	// Each a fresh address in the seeded company, its invitation mailed
	// through an in-process SES.
	{Name: "users", Function: "users", Route: "POST /v1/users"},
	// The seeded client user's session.
	{Name: "me-projects", Function: "client", Route: "GET /v1/me/projects"},
	{Name: "hello", Function: Hello},
}

// Warm is an endpoint's warm latencies.
type Warm struct {
	Endpoint
	Cold      time.Duration   // the first invocation's, not counted
	Latencies []time.Duration // of the warm invocations, in order
	Summary   Summary         // of Latencies
}

// sessionTTL is the seeded client session's: longer than any run.
const sessionTTL = 12 * time.Hour

// Latency seeds the table through the store (a company, a project on it
// and an active client user of both with a session), starts one emulator
// per endpoint's function (the users function mailing through an
// in-process SES), invokes each once, cold, and then n times more each,
// warm, in alternating order: each round starts one endpoint further on.
// Every answer is checked (status and body), and at the end every
// invitation is checked to have been mailed once, so that a broken handler
// fails the run. progress, when not nil, is called after each round.
func (b *Bench) Latency(ctx context.Context, n int, progress func(round int)) ([]Warm, error) {
	return b.latency(ctx, n, progress, mailbox.New(time.Now))
}

// latency is Latency with the users function's SES in box.
func (b *Bench) latency(ctx context.Context, n int, progress func(round int), box *mailbox.Mailbox) ([]Warm, error) {
	ses, err := serve(box.SESHandler())
	if err != nil {
		return nil, err
	}
	defer ses.Close()
	fx, err := b.seed(ctx)
	if err != nil {
		return nil, err
	}

	emus := make([]*warmEmulator, 0, len(Endpoints))
	defer func() {
		for _, e := range emus {
			e.stop()
		}
	}()
	for _, ep := range Endpoints {
		i := slices.IndexFunc(b.Functions, func(f Function) bool { return f.Name == ep.Function })
		if i < 0 {
			return nil, fmt.Errorf("coldstart: no function %q for %s", ep.Function, ep.Name)
		}
		var env []string
		if ep.Function == "users" {
			env = []string{"SES_ENDPOINT=http://" + ses.Addr().String()}
		}
		e, err := b.startWarm(ctx, b.Functions[i], env)
		if err != nil {
			return nil, err
		}
		emus = append(emus, e)
	}

	ws := make([]Warm, len(Endpoints))
	seq := 0
	invoke := func(k int) (time.Duration, error) {
		seq++
		payload, check, err := fx.request(Endpoints[k], seq, time.Now())
		if err != nil {
			return 0, err
		}
		body, d, err := emus[k].invoke(ctx, payload)
		if err == nil {
			err = check(body)
		}
		if err != nil {
			return 0, fmt.Errorf("%s (invocation %d): %w\n%s", Endpoints[k].Name, seq, err, emus[k].log())
		}
		return d, nil
	}
	for k, ep := range Endpoints {
		ws[k].Endpoint = ep
		if ws[k].Cold, err = invoke(k); err != nil {
			return nil, err
		}
	}
	// Warm from here on: the same bootstrap process answers every invocation.
	pids := make([]string, len(emus))
	for k, e := range emus {
		pids[k] = e.bootstrap()
	}
	for r := range n {
		for i := range Endpoints {
			k := (i + r) % len(Endpoints)
			d, err := invoke(k)
			if err != nil {
				return nil, err
			}
			ws[k].Latencies = append(ws[k].Latencies, d)
		}
		if progress != nil {
			progress(r + 1)
		}
	}
	for k, e := range emus {
		if pid := e.bootstrap(); pid != pids[k] {
			return nil, fmt.Errorf("%s: the bootstrap was process %q after the cold invocation and is %q now: not warm\n%s",
				Endpoints[k].Name, pids[k], pid, e.log())
		}
	}
	if err := fx.checkMail(box.Messages()); err != nil {
		return nil, err
	}
	for k := range ws {
		ws[k].Summary = Summarize(ws[k].Latencies)
	}
	return ws, nil
}

// fixture is what the seeded table holds for the latency run, and what it
// was asked to do.
type fixture struct {
	portal    string
	companyID string
	projectID string
	project   string            // its name
	session   string            // the client user's session token
	invited   map[string]string // address → user id, of each POST /v1/users answered
}

// seed writes through the store what the endpoints read: a company, a
// project on it, and a user of both who accepted their invitation and has
// a session, as POST /v1/companies, POST /v1/projects, POST /v1/users and
// POST /v1/invites/{token}/accept would leave them.
func (b *Bench) seed(ctx context.Context) (*fixture, error) {
	c := clock.System{}
	st := dynamo.New(dynamoClient(b.ddbURL, b.key), b.table, c, ids.New(c, nil))
	staff, err := auth.FromClaims(Principal)
	if err != nil {
		return nil, err
	}
	fx := &fixture{portal: staff.PortalID, invited: map[string]string{}}
	now := st.Now()
	co, err := clientele.NewCompany(clientele.CompanyInput{Name: "Latency " + randomHex(4)}, "", st.NewID(), now)
	if err != nil {
		return nil, err
	}
	if co, err = st.CreateCompany(ctx, fx.portal, co, staff.Actor(), nil); err != nil {
		return nil, fmt.Errorf("coldstart: seed the company: %w", err)
	}
	pr, err := clientele.NewProject(clientele.ProjectInput{Name: "Latency project", CompanyIDs: []string{co.ID}}, st.NewID(), now)
	if err != nil {
		return nil, err
	}
	if pr, err = st.CreateProject(ctx, fx.portal, pr, staff.Actor(), nil); err != nil {
		return nil, fmt.Errorf("coldstart: seed the project: %w", err)
	}
	fx.companyID, fx.projectID, fx.project = co.ID, pr.ID, pr.Name

	email := "client-" + randomHex(4) + "@example.com"
	add, err := clientele.UsersInput{Emails: clientele.EmailList{email}, CompanyID: co.ID, ProjectIDs: []string{pr.ID}}.Validate()
	if err != nil {
		return nil, err
	}
	u := add.Template
	u.ID, u.Email, u.CreatedAt, u.UpdatedAt, u.Version = st.NewID(), email, now, now, 1
	_, inviteHash := auth.NewPortalToken(fx.portal)
	u = u.WithInvitation(now, clientele.DefaultPortal(fx.portal).InviteTTL(), inviteHash)
	if err := st.CreateUser(ctx, fx.portal, u, inviteHash, staff.Actor()); err != nil {
		return nil, fmt.Errorf("coldstart: seed the client user: %w", err)
	}
	pw, err := auth.HashPassword("latency " + randomHex(8))
	if err != nil {
		return nil, err
	}
	token, sessionHash := auth.NewPortalToken(fx.portal)
	if _, _, err := st.AcceptInvite(ctx, fx.portal, u.ID, inviteHash, func(cur clientele.User) (clientele.User, error) {
		return cur.Accept(now, nil)
	}, pw, sessionHash, sessionTTL); err != nil {
		return nil, fmt.Errorf("coldstart: seed the client session: %w", err)
	}
	fx.session = token
	return fx, nil
}

// request is the seq-th invocation's payload for ep and the check of the
// emulator's answer to it.
func (fx *fixture) request(ep Endpoint, seq int, now time.Time) ([]byte, func([]byte) error, error) {
	id := fmt.Sprintf("latency-%d", seq)
	var ev events.APIGatewayV2HTTPRequest
	var check func([]byte) error
	switch ep.Name {
	case "hello":
		return []byte(`{}`), checkHello, nil
	case "companies":
		ev = apiRequest(ep.Route, id, now, Principal, nil, "")
		check = func(b []byte) error { return checkCompanies(b, fx.companyID) }
	case "users":
		email := fmt.Sprintf("latency-%d-%s@example.com", seq, randomHex(3))
		body, err := json.Marshal(map[string]any{"emails": []string{email}, "companyId": fx.companyID})
		if err != nil {
			return nil, nil, err
		}
		ev = apiRequest(ep.Route, id, now, Principal, map[string]string{"content-type": "application/json"}, string(body))
		check = func(b []byte) error {
			uid, err := checkUserAdded(b, email, fx.companyID)
			if err == nil {
				fx.invited[email] = uid
			}
			return err
		}
	case "me-projects":
		// A client route: no JWT authorizer, the session as the bearer.
		ev = apiRequest(ep.Route, id, now, nil, map[string]string{"authorization": "Bearer " + fx.session}, "")
		check = func(b []byte) error { return checkMyProjects(b, fx.projectID, fx.project) }
	default:
		return nil, nil, fmt.Errorf("coldstart: no request for endpoint %q", ep.Name)
	}
	payload, err := json.Marshal(ev)
	return payload, check, err
}

// checkMail checks that every address added got exactly one invitation,
// tagged with its user and carrying its link, and nobody else any mail.
func (fx *fixture) checkMail(msgs []mailbox.Message) error {
	got := map[string]int{}
	for _, m := range msgs {
		if len(m.To) != 1 {
			return fmt.Errorf("coldstart: a message to %q: want one invited address", m.To)
		}
		to := m.To[0]
		uid, ok := fx.invited[to]
		switch {
		case !ok:
			return fmt.Errorf("coldstart: a message to %s, who was not added", to)
		case m.Tags[feedback.TagUser] != uid || m.Tags[feedback.TagPortal] != fx.portal:
			return fmt.Errorf("coldstart: the invitation to %s is tagged %v, want user %s of portal %s", to, m.Tags, uid, fx.portal)
		case !slices.ContainsFunc(m.Links, func(l string) bool { return strings.Contains(l, "/portal/invite/") }):
			return fmt.Errorf("coldstart: the invitation to %s has no invitation link: %q", to, m.Links)
		}
		got[to]++
	}
	for to := range fx.invited {
		if got[to] != 1 {
			return fmt.Errorf("coldstart: %s got %d invitations, want 1", to, got[to])
		}
	}
	return nil
}

// checkHello checks the hello-world's answer.
func checkHello(body []byte) error {
	if string(body) != `"hello"` {
		return fmt.Errorf("got %.200s, want \"hello\"", body)
	}
	return nil
}

// apiAnswer checks that the emulator's answer is an API Gateway response
// with status want and a JSON body, and decodes that body into v.
func apiAnswer(raw []byte, want int, v any) error {
	var fnErr struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(raw, &fnErr) == nil && (fnErr.ErrorType != "" || fnErr.ErrorMessage != "") {
		return fmt.Errorf("function error %s: %s", fnErr.ErrorType, fnErr.ErrorMessage)
	}
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("not an API Gateway response: %.300s", raw)
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			return fmt.Errorf("a base64 body that is not: %w", err)
		}
	}
	if r.StatusCode != want {
		return fmt.Errorf("status %d, want %d: %.300s", r.StatusCode, want, body)
	}
	ct := r.Headers["Content-Type"]
	if ct == "" {
		ct = r.Headers["content-type"]
	}
	if !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("the Content-Type is %q, want application/json", ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("body %.300s: %w", body, err)
	}
	return nil
}

// checkCompanies checks an answer to GET /v1/companies: 200, a page
// listing the company.
func checkCompanies(raw []byte, companyID string) error {
	type company struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var page struct {
		Items      []company `json:"items"`
		NextCursor *string   `json:"nextCursor"`
	}
	if err := apiAnswer(raw, http.StatusOK, &page); err != nil {
		return err
	}
	if !slices.ContainsFunc(page.Items, func(c company) bool { return c.ID == companyID && c.Name != "" }) {
		return fmt.Errorf("the companies %+v do not list company %s", page.Items, companyID)
	}
	return nil
}

// checkUserAdded checks an answer to POST /v1/users of one address: 201,
// the user created in the company, invited, its invitation sent; it returns
// the user's id.
func checkUserAdded(raw []byte, email, companyID string) (string, error) {
	var res struct {
		Created []struct {
			ID        string `json:"id"`
			Email     string `json:"email"`
			CompanyID string `json:"companyId"`
			Status    string `json:"status"`
			Invite    *struct {
				State     string  `json:"state"`
				LastError *string `json:"lastError"`
			} `json:"invite"`
		} `json:"created"`
		Failed []json.RawMessage `json:"failed"`
	}
	if err := apiAnswer(raw, http.StatusCreated, &res); err != nil {
		return "", err
	}
	if len(res.Created) != 1 || res.Failed == nil || len(res.Failed) != 0 {
		return "", fmt.Errorf("created %d and failed %d (%s), want 1 created and none failed", len(res.Created), len(res.Failed), res.Failed)
	}
	u := res.Created[0]
	switch {
	case !clientele.ValidID(u.ID):
		return "", fmt.Errorf("user id %q", u.ID)
	case u.Email != email || u.CompanyID != companyID || u.Status != clientele.Invited:
		return "", fmt.Errorf("created %s of company %s, %s; want %s of company %s, invited", u.Email, u.CompanyID, u.Status, email, companyID)
	case u.Invite == nil || u.Invite.LastError != nil:
		return "", fmt.Errorf("the invitation of %s was not sent: %+v", email, u.Invite)
	}
	return u.ID, nil
}

// checkMyProjects checks an answer to GET /v1/me/projects: 200, the one
// project of the user.
func checkMyProjects(raw []byte, projectID, name string) error {
	var list struct {
		Items []struct {
			ProjectID   string          `json:"projectId"`
			Name        string          `json:"name"`
			Permissions json.RawMessage `json:"permissions"`
		} `json:"items"`
	}
	if err := apiAnswer(raw, http.StatusOK, &list); err != nil {
		return err
	}
	if len(list.Items) != 1 || list.Items[0].ProjectID != projectID || list.Items[0].Name != name || len(list.Items[0].Permissions) == 0 {
		return fmt.Errorf("got projects %+v, want project %s (%q) with its permissions", list.Items, projectID, name)
	}
	return nil
}

// warmEmulator is an emulator kept running across invocations.
type warmEmulator struct {
	fn     Function
	e      *emulator
	url    string
	client *http.Client
}

// startWarm starts fn's bootstrap under its own emulator, with the bench's
// environment plus env, and waits until the emulator listens.
func (b *Bench) startWarm(ctx context.Context, fn Function, env []string) (*warmEmulator, error) {
	var last error
	for range 3 { // a free port can be taken between choosing and binding it
		invokeAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		runtimeAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		e, err := b.spawn(fn, invokeAddr, runtimeAddr, env, fn.Bootstrap)
		if err != nil {
			return nil, err
		}
		if err := waitListening(ctx, invokeAddr, e.exited); err != nil {
			log := e.stop()
			if errors.Is(err, errNotListening) {
				last = fmt.Errorf("%s: %w\n%s", fn.Name, err, log)
				continue
			}
			return nil, err
		}
		return &warmEmulator{fn: fn, e: e, url: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations",
			// One connection, kept alive: no dial in the timings.
			client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}}, nil
	}
	return nil, last
}

// invoke sends payload to the emulator's invoke endpoint and returns the
// function's answer and the time from the request to the end of the answer.
func (w *warmEmulator) invoke(ctx context.Context, payload []byte) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute) // the function's own timeout is 30 s
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(payload))
	if err != nil {
		return nil, 0, err
	}
	t0 := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("invoke: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	d := time.Since(t0)
	resp.Body.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("invoke: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("the emulator answered %d: %.300s", resp.StatusCode, body)
	}
	return body, d, nil
}

// bootstrap returns the process ids of the emulator's children (its
// bootstrap), as Linux lists them; "" where /proc is not, or once the
// emulator has exited.
func (w *warmEmulator) bootstrap() string {
	select {
	case <-w.e.exited:
		return ""
	default:
	}
	dir := fmt.Sprintf("/proc/%d/task", w.e.cmd.Process.Pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var pids []string
	for _, t := range tasks {
		data, err := os.ReadFile(filepath.Join(dir, t.Name(), "children"))
		if err == nil {
			pids = append(pids, strings.Fields(string(data))...)
		}
	}
	slices.Sort(pids)
	return strings.Join(pids, " ")
}

// log is the end of what the emulator and the function have written so
// far: a warm emulator has a log line per invocation.
func (w *warmEmulator) log() string {
	s := w.e.out.String()
	if len(s) > 4096 {
		s = "...\n" + s[len(s)-4096:]
	}
	return s
}

func (w *warmEmulator) stop() {
	w.client.CloseIdleConnections()
	w.e.stop()
}

// server is an in-process HTTP server on loopback.
type server struct {
	ln  net.Listener
	srv *http.Server
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *server) Addr() net.Addr { return s.ln.Addr() }
func (s *server) Close() error   { return s.srv.Close() }

func dynamoClient(endpoint, key string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region: Region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(key, "local", ""),
	})
}

// Report writes the warm latencies as Markdown table rows for the README,
// and last the summary line `warm p50/p99 ms: companies a/b ... hello g/h`.
func Report(w io.Writer, ws []Warm) error {
	hello := slices.IndexFunc(ws, func(x Warm) bool { return x.Function == Hello })
	if hello < 0 || len(ws[hello].Latencies) == 0 {
		return errors.New("coldstart: no hello-world latencies to report against")
	}
	base := ws[hello].Summary
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%d warm invocations per endpoint after a cold first, one emulator per function, alternating; DynamoDB Local behind; host build (%s/%s); latency: invoke request to the end of its response\n",
		base.N, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintln(&buf, "| endpoint | function | median | p99 | max | median less hello-world's |")
	fmt.Fprintln(&buf, "|---|---|--:|--:|--:|--:|")
	for _, x := range ws {
		route, own := x.Route, fmt.Sprintf("%+.2f ms", msf(x.Summary.Less(base)))
		if x.Function == Hello {
			route, own = "hello-world", "-"
		}
		fmt.Fprintf(&buf, "| %s | %s | %.2f ms | %.2f ms | %.2f ms | %s |\n", route, x.Function,
			msf(x.Summary.Median), msf(x.Summary.P99), msf(x.Summary.Max), own)
	}
	buf.WriteString(SummaryLine(ws) + "\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// SummaryLine is `warm p50/p99 ms: NAME p50/p99 ...` over ws, in order.
func SummaryLine(ws []Warm) string {
	var b strings.Builder
	b.WriteString("warm p50/p99 ms:")
	for _, x := range ws {
		fmt.Fprintf(&b, " %s %.2f/%.2f", x.Name, msf(x.Summary.Median), msf(x.Summary.P99))
	}
	return b.String()
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
