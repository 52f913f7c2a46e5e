// Package function wires a Lambda function: configuration, AWS clients and
// handler are built once per process (at init, without network calls) and
// every invocation reuses them.
package function

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/auth"
	"github.com/clientele/clientele/shared/awsclient"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/dynamo"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/ids"
	"github.com/clientele/clientele/shared/pages"
)

// Base is what every function is built from: its configuration, its AWS
// configuration, its clock, its logger and its store.
type Base struct {
	Config config.Config
	AWS    aws.Config
	Clock  clock.Clock
	Log    *slog.Logger
	Store  *dynamo.Store
}

// NewBase builds a function's base from its configuration.
func NewBase(cfg config.Config, awsCfg aws.Config, c clock.Clock, log *slog.Logger) Base {
	db := awsclient.DynamoDB(awsCfg, cfg.DynamoEndpoint)
	return Base{Config: cfg, AWS: awsCfg, Clock: c, Log: log, Store: dynamo.New(db, cfg.TableName, c, ids.New(c, nil))}
}

// Load builds a function's base from the environment; required lists its
// required variables (config.API, config.Mail, ...).
func Load(getenv func(string) string, required []string) (Base, error) {
	cfg, err := config.Load(getenv, required...)
	if err != nil {
		return Base{}, err
	}
	awsCfg, err := awsclient.Load(cfg)
	if err != nil {
		return Base{}, err
	}
	return NewBase(cfg, awsCfg, clock.System{}, cfg.Logger()), nil
}

// Option adds to an API function's dependencies what only some functions
// need (mail: sub-package sesmail), so that the others do not link it.
type Option func(b Base, d *api.Deps)

// RouterFunc builds an API function's router. One that needs what only it
// uses (export links, CRMs) builds that from the base (sub-packages
// s3exports and kmscrm); the others need only the API's dependencies
// (Routes).
type RouterFunc func(b Base, d api.Deps) *httpapi.Router

// Routes is the RouterFunc of a router that needs only the API's
// dependencies.
func Routes(router func(api.Deps) *httpapi.Router) RouterFunc {
	return func(_ Base, d api.Deps) *httpapi.Router { return router(d) }
}

// Build builds an API function's dependencies.
func Build(b Base, opts ...Option) (api.Deps, error) {
	cfg := b.Config
	cursors, err := httpapi.NewCursors(cfg.CursorSecret)
	if err != nil {
		return api.Deps{}, fmt.Errorf("cursor key: %w", err)
	}
	answers, err := httpapi.NewAnswers(cfg.CursorSecret)
	if err != nil {
		return api.Deps{}, fmt.Errorf("answer key: %w", err)
	}
	d := api.Deps{
		Store:      b.Store,
		Cursors:    cursors,
		Answers:    answers,
		Links:      auth.NewLinkTokens(cfg.CursorSecret),
		Clock:      b.Clock,
		Log:        b.Log,
		APIBaseURL: cfg.APIBaseURL,
		CSRF:       pages.NewCSRF(cfg.CursorSecret, b.Clock.Now),
	}
	for _, o := range opts {
		o(b, &d)
	}
	return d, nil
}

// Init builds the router of an API function from the environment.
func Init(getenv func(string) string, router RouterFunc, required []string, opts ...Option) (*httpapi.Router, error) {
	b, err := Load(getenv, required)
	if err != nil {
		return nil, err
	}
	deps, err := Build(b, opts...)
	if err != nil {
		return nil, err
	}
	return router(b, deps), nil
}

// Main runs an API function: it is all a function's main does. A
// configuration error ends the process at init with a message naming it,
// which Lambda reports as an init failure.
func Main(router RouterFunc, required []string, opts ...Option) {
	rt, err := Init(os.Getenv, router, required, opts...)
	if err != nil {
		exit(err)
	}
	lambda.Start(rt.Invoke)
}

// Start runs a function that is not behind the API (scheduled, or fed by
// a stream or an event rule): handler builds its Lambda handler from the
// base.
func Start(handler func(Base) any, required []string) {
	b, err := Load(os.Getenv, required)
	if err != nil {
		exit(err)
	}
	lambda.Start(handler(b))
}

func exit(err error) {
	fmt.Fprintln(os.Stderr, "init:", err)
	os.Exit(1)
}
