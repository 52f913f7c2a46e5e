// Package stack is Clientele's local stack: AWS's DynamoDB Local (one JVM per
// process, a database of its own per stack) behind a proxy that counts
// requests and injects faults, the table's stream read as the export
// worker's event source mapping reads it, S3 (gofakes3) and SES (a capturing
// mailbox) in process on loopback ports, a dev JWT issuer, and an API
// Gateway emulation that routes from template.yaml to the same handlers the
// Lambda functions run. Dev and tests only.
package stack

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/clientele/clientele/infra/dynamodblocal"
	localcrm "github.com/clientele/clientele/infra/local/crm"
	"github.com/clientele/clientele/infra/local/devjwt"
	"github.com/clientele/clientele/infra/local/eventbus"
	localkms "github.com/clientele/clientele/infra/local/kms"
	"github.com/clientele/clientele/infra/local/mailbox"
	"github.com/clientele/clientele/infra/template"
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/awsclient"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/export"
	"github.com/clientele/clientele/shared/feedback"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/kmscrm"
	"github.com/clientele/clientele/shared/function/s3exports"
	"github.com/clientele/clientele/shared/function/sesmail"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/ids"
	"github.com/clientele/clientele/shared/invite"
	"github.com/clientele/clientele/shared/openapi"
	"github.com/clientele/clientele/shared/publish"
)

// Dev identity of the local stack's issuer; `token` signs with the same.
const (
	Issuer   = "http://127.0.0.1:3000/_local"
	Audience = "clientele-local"
	Table    = "clientele-local"
	Bucket   = "clientele-exports-local"
	EventBus = "clientele-local"
	// ConfigurationSet is the SES configuration set of the stack's mail.
	ConfigurationSet = "clientele-local"
	Portal           = "demo"
	MailFrom         = "no-reply@clientele.local"
)

// Functions maps each function of template.yaml to its router: the one
// place to register a new function with the local stack.
var Functions = map[string]function.RouterFunc{
	"PortalFunction":    function.Routes(api.Portal),
	"CompaniesFunction": function.Routes(api.Companies),
	"ProjectsFunction":  function.Routes(api.Projects),
	"UsersFunction":     function.Routes(api.Users),
	"CrmFunction":       kmscrm.Router,
	"ClientFunction":    function.Routes(api.Client),
	"PagesFunction":     function.Routes(api.Pages),
	"ExportsFunction":   s3exports.Router,
}

// Scheduled are the functions of template.yaml that no route reaches; the
// stack runs each on request at POST /_local/run/<name>.
var Scheduled = map[string]string{
	"RemindersFunction": "reminders",
}

// Streamed are the functions of template.yaml that the table's stream
// triggers; the stack reads the stream and invokes them itself, as their
// event source mappings say (see stream.go).
var Streamed = map[string]bool{"ExportWorkerFunction": true, "EventsFunction": true}

// Evented are the functions of template.yaml that an EventBridge rule
// invokes: SES's feedback, which the mailbox emits on request at
// POST /_local/mail/{messageId}/{delivery|bounce|complaint|reject}.
var Evented = map[string]bool{"MailFeedbackFunction": true}

// Options configure a stack.
type Options struct {
	Template string          // path of template.yaml; found upwards from the working directory when empty
	Key      *rsa.PrivateKey // dev signing key; generated when nil
	Log      io.Writer       // request log; discarded when nil
	Clock    interface {
		clock.Clock
		Advance(time.Duration) time.Time
	} // the stack's clock; the real clock plus an offset when nil
}

// Stack is a running local stack.
type Stack struct {
	Issuer *devjwt.Issuer
	Mail   *mailbox.Mailbox
	Events *eventbus.Bus // the EventBridge bus the history is published to
	CRM    *localcrm.CRM // the CRM stand-in (Zoho CRM's wire shapes)
	CRMURL string        // its base URL: accounts server and API domain
	KMS    *localkms.KMS // the KMS that seals CRM credentials
	Clock  interface{ Advance(time.Duration) time.Time }
	// Dynamo is the proxy in front of the stack's DynamoDB: request counts
	// and fault injection.
	Dynamo  *dynamodblocal.Proxy
	Store   *dynamo.Store
	Routes  []template.Route
	db      *dynamodb.Client
	Routers map[string]*httpapi.Router // by function logical id
	// ReminderPage is how many due users a reminders run reads per Query;
	// the function's own 100 when 0 (tests cross pages with a few).
	ReminderPage atomic.Int64
	// DynamoURL is the endpoint of the stack's DynamoDB proxy, for a client
	// in another process; DynamoKey the access key that selects its database.
	DynamoURL string
	DynamoKey string
	Table     string // the table's name
	deps      api.Deps
	worker    *export.Worker // the export worker function's

	handler   http.Handler
	s3Fail    atomic.Pointer[func(*http.Request) bool]
	s3Calls   atomic.Int64
	S3        *s3.Client // the stack's client of its S3, for tests to read objects
	stream    *poller    // the export worker's trigger; nil when disabled
	events    *poller    // the events function's trigger; nil when disabled
	publisher *publish.Publisher
	feedback  *feedback.Handler
	streamARN string
	handSeq   atomic.Int64 // sequence of ExportJobEvent's records
	listeners []*http.Server
	cleanup   []func()
}

// Start starts the emulators, creates the table of template.yaml, seeds the
// demo portal and builds the gateway.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	st := &Stack{Mail: nil}
	var err error
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	var clk interface {
		clock.Clock
		Advance(time.Duration) time.Time
	} = &clock.Offset{}
	if opts.Clock != nil {
		clk = opts.Clock
	}
	st.Clock = clk
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))

	tmplPath := opts.Template
	if tmplPath == "" {
		if tmplPath, err = template.FindFile(); err != nil {
			return nil, err
		}
	}
	tmpl, err := template.Load(tmplPath)
	if err != nil {
		return nil, err
	}

	// DynamoDB, counting requests by operation at the wire. DynamoDB Local
	// keeps a database per access key: the stack's own key isolates it from
	// every other stack of the process. Another DynamoDB (DYNAMODB_ENDPOINT)
	// gets a table name of the stack's own instead.
	st.DynamoKey, st.Table = "stack"+randomSecret()[:16], Table
	creds := awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(st.DynamoKey, "local", ""))
	upstream := os.Getenv("DYNAMODB_ENDPOINT")
	if upstream != "" {
		st.Table = Table + "-" + st.DynamoKey[5:13]
		if os.Getenv("AWS_ACCESS_KEY_ID") != "" || os.Getenv("AWS_PROFILE") != "" {
			creds = func(*awsconfig.LoadOptions) error { return nil } // the environment's own
		}
	} else {
		ddb, derr := dynamodblocal.Shared()
		if err = derr; err != nil {
			return nil, err
		}
		upstream = ddb.URL
	}
	if st.Dynamo, err = dynamodblocal.NewProxy(upstream); err != nil {
		return nil, err
	}
	dynURL, err := st.serve(st.Dynamo)
	if err != nil {
		return nil, err
	}
	s3h := gofakes3.New(s3mem.New()).Server()
	s3URL, err := st.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.s3Calls.Add(1)
		if fail := st.s3Fail.Load(); fail != nil && (*fail)(r) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>`))
			return
		}
		s3h.ServeHTTP(w, r)
	}))
	if err != nil {
		return nil, err
	}
	st.Mail = mailbox.New(clk.Now)
	sesURL, err := st.serve(st.Mail.SESHandler())
	if err != nil {
		return nil, err
	}
	st.Events = eventbus.New(clk.Now)
	eventsURL, err := st.serve(st.Events.Handler())
	if err != nil {
		return nil, err
	}
	st.CRM = localcrm.New(clk.Now)
	if st.CRMURL, err = st.serve(st.CRM.Handler()); err != nil {
		return nil, err
	}
	st.KMS = localkms.New()
	kmsURL, err := st.serve(st.KMS.Handler())
	if err != nil {
		return nil, err
	}

	// One SDK configuration for the whole process, as in a Lambda.
	cfg := config.Config{TableName: st.Table, CursorSecret: randomSecret(), Region: "us-east-1",
		DynamoEndpoint: dynURL, S3Endpoint: s3URL, SESEndpoint: sesURL, EventsEndpoint: eventsURL,
		EventBus: EventBus, MailFrom: MailFrom, MailConfigurationSet: ConfigurationSet,
		ExportsBucket: Bucket, ExportLinkTTL: config.DefaultExportLinkTTL,
		CRMKeyID: localkms.Alias, KMSEndpoint: kmsURL, CRMAllowedOrigins: []string{st.CRMURL}}
	// The SDK's default loader, unlike a function's (awsclient.Load): another
	// DynamoDB may need the environment's profile or SSO credentials.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, creds, awsconfig.WithRegion(cfg.Region),
		// Production's retry policy (3 attempts), with loopback-sized backoff.
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 20 * time.Millisecond })
		}))
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if err = createResources(ctx, tmpl, awsCfg, cfg); err != nil {
		return nil, err
	}
	st.cleanup = append(st.cleanup, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = awsclient.DynamoDB(awsCfg, cfg.DynamoEndpoint).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &cfg.TableName})
	})
	base := function.NewBase(cfg, awsCfg, clk, log)
	deps, err := function.Build(base, sesmail.Option)
	if err != nil {
		return nil, err
	}
	st.Store, st.deps, st.DynamoURL = deps.Store, deps, dynURL
	st.worker = s3exports.Worker(base)
	st.S3 = s3exports.Client(awsCfg, cfg.S3Endpoint)
	st.publisher = publish.New(publish.Client(awsCfg, cfg.EventsEndpoint), cfg.EventBus, log)
	st.publisher.Backoff = func(int) time.Duration { return 0 } // the stack's poller paces retries
	st.feedback = &feedback.Handler{Store: deps.Store, Log: log}
	if err = st.startStream(ctx, tmpl, awsCfg, upstream, log); err != nil {
		return nil, err
	}
	st.db = awsclient.DynamoDB(awsCfg, cfg.DynamoEndpoint)
	if _, err = st.Store.UpdatePortal(ctx, Portal, func(cur clientele.Portal) (clientele.Portal, clientele.Changes, error) {
		cur.Name = "Demo Portal"
		return cur, clientele.Changes{"name": {To: cur.Name}}, nil
	}); err != nil {
		return nil, fmt.Errorf("seed portal %s: %w", Portal, err)
	}

	// Identity.
	key := opts.Key
	if key == nil {
		if key, err = devjwt.GenerateKey(); err != nil {
			return nil, err
		}
	}
	st.Issuer = devjwt.NewIssuer(key, Issuer, Audience, clk.Now)
	verifier, err := devjwt.NewVerifier(st.Issuer.JWKS(), Issuer, Audience, clk.Now)
	if err != nil {
		return nil, err
	}

	// Gateway, from template.yaml.
	gw := &gateway{verifier: verifier, clock: clk, ids: ids.New(clk, nil)}
	st.Routers = map[string]*httpapi.Router{}
	for _, fn := range tmpl.Functions() {
		if _, ok := Scheduled[fn]; ok || Streamed[fn] || Evented[fn] {
			continue
		}
		build, ok := Functions[fn]
		if !ok {
			return nil, fmt.Errorf("template.yaml declares %s, which the local stack does not know (add it to stack.Functions)", fn)
		}
		st.Routers[fn] = build(base, deps)
	}
	st.Routes = tmpl.Routes()
	for _, r := range st.Routes {
		rt := st.Routers[r.Function]
		if rt == nil {
			return nil, fmt.Errorf("route %s names unknown function %s", r.Key(), r.Function)
		}
		if !slices.Contains(rt.Routes(), r.Key()) {
			return nil, fmt.Errorf("route %s of template.yaml has no handler in %s", r.Key(), r.Function)
		}
		gw.routes = append(gw.routes, gatewayRoute{Route: r, segments: strings.Split(strings.Trim(r.Path, "/"), "/"), handler: invoker(rt.Invoke)})
	}
	st.handler = st.mux(gw)
	return st, nil
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createResources creates the table exactly as template.yaml declares it,
// and the exports bucket.
func createResources(ctx context.Context, tmpl *template.Template, awsCfg aws.Config, cfg config.Config) error {
	in, err := tmpl.CreateTableInput(cfg.TableName)
	if err != nil {
		return err
	}
	if _, err := awsclient.DynamoDB(awsCfg, cfg.DynamoEndpoint).CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(cfg.S3Endpoint), true
	})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	return nil
}

// serve serves h on a loopback port and returns its URL.
func (st *Stack) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	st.listeners = append(st.listeners, srv)
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), nil
}

func (st *Stack) mux(gw http.Handler) http.Handler {
	m := http.NewServeMux()
	m.Handle("/", gw)
	m.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapi.Spec)
	})
	m.Handle("GET /_local/mail", st.Mail.PageHandler())
	m.Handle("GET /_local/mail.json", st.Mail.JSONHandler())
	m.Handle("GET /_local/events", st.Events.JSONHandler())
	m.Handle("GET /_local/crm", st.CRM.DescribeHandler(func(*http.Request) string { return st.CRMURL }))
	m.HandleFunc("POST /_local/mail/{messageId}/{kind}", st.mailFeedback)
	m.HandleFunc("GET /_local/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(st.Issuer.JWKS())
	})
	m.HandleFunc("GET /_local/clock", st.clockHandler)
	m.HandleFunc("POST /_local/clock", st.clockHandler)
	m.HandleFunc("POST /_local/run/reminders", st.runReminders)
	return m
}

// clockHandler moves the clock: POST {"advance": "25h"}.
func (st *Stack) clockHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		var in struct {
			Advance string `json:"advance"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		d, err := time.Duration(0), dec.Decode(&in)
		if err == nil {
			d, err = time.ParseDuration(in.Advance)
		}
		if err != nil || d < 0 {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"message":"body must be {\"advance\": \"<positive Go duration, e.g. 25h>\"}"}`))
			return
		}
		st.Clock.Advance(d)
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"now": st.Store.Now().Format(time.RFC3339)})
}

// runReminders runs the scheduled reminders now, as EventBridge would, and
// answers what the run did.
func (st *Stack) runReminders(w http.ResponseWriter, r *http.Request) {
	run, err := st.RunReminders(r.Context(), "http://"+r.Host)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "the run failed; see the log"})
		return
	}
	_ = json.NewEncoder(w).Encode(run)
}

// RunReminders runs the reminders function's handler with the stack's
// dependencies; baseURL is the API's address for invitation links.
func (st *Stack) RunReminders(ctx context.Context, baseURL string) (invite.Run, error) {
	return st.Invitations(baseURL).Remind(ctx)
}

// Invitations are the invitation use cases over the stack's store and SES,
// as the reminders function builds them; baseURL is the API's address for
// invitation links.
func (st *Stack) Invitations(baseURL string) invite.Invitations {
	return invite.Invitations{Store: st.Store, Mailer: st.deps.Mailer, Log: st.deps.Log, BaseURL: baseURL,
		ReminderPage: int(st.ReminderPage.Load())}
}

// Handler serves the API, /openapi.yaml and /_local/*.
func (st *Stack) Handler() http.Handler { return st.handler }

// DynamoCalls returns how many DynamoDB requests reached the proxy.
func (st *Stack) DynamoCalls() int64 { return st.Dynamo.Calls() }

// DynamoCallsByOp returns the requests per DynamoDB operation.
func (st *Stack) DynamoCallsByOp() map[string]int64 { return st.Dynamo.CallsByOp() }

// FailDynamo makes every DynamoDB request of an operation for which fail
// returns true answer 500 InternalServerError, until FailDynamo(nil).
func (st *Stack) FailDynamo(fail func(op string) bool) { st.Dynamo.Fail(fail) }

// Token returns a staff token of the dev issuer.
func (st *Stack) Token(portal, role, subject string) string {
	t, err := st.Issuer.Token(portal, role, subject, 12*time.Hour)
	if err != nil {
		panic(err) // signing with an in-memory RSA key does not fail
	}
	return t
}

// Close stops the stream's triggers, drops the stack's table and stops the
// emulators.
func (st *Stack) Close() {
	for _, p := range st.pollers() {
		p.stop() // before the table goes: its reads would fail
	}
	for _, f := range st.cleanup {
		f()
	}
	for _, s := range st.listeners {
		_ = s.Close()
	}
}

// mailFeedback emits the SES event of a message's delivery, bounce,
// complaint or reject and delivers it to the feedback function, as EventBridge's rule
// would: 202 with the event, 404 for an unknown message, 409 for mail sent
// without a configuration set, 502 when the function failed.
func (st *Stack) mailFeedback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	ev, err := st.Mail.Feedback(r.PathValue("messageId"), r.PathValue("kind"))
	status := http.StatusAccepted
	switch {
	case errors.Is(err, mailbox.ErrNoMessage), errors.Is(err, mailbox.ErrUnknownFeedback):
		status = http.StatusNotFound
	case errors.Is(err, mailbox.ErrNoConfigSet):
		status = http.StatusConflict
	case err == nil:
		err = st.InvokeMailFeedback(r.Context(), ev)
		if err != nil {
			status = http.StatusBadGateway
		}
	}
	w.WriteHeader(status)
	if err != nil {
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(ev)
}

// InvokeMailFeedback runs the feedback function's handler on ev through the
// Lambda runtime's JSON encoding, as EventBridge invokes it.
func (st *Stack) InvokeMailFeedback(ctx context.Context, ev events.EventBridgeEvent) error {
	return invoke(ctx, st.feedback.Handle, ev)
}
