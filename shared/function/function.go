// Package function wires a Lambda function: configuration, AWS clients and
// handler are built once per process (at init, without network calls) and
// every invocation reuses them.
package function

import (
	"context"
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

// Option adds to a function's dependencies what only some functions need
// (mail, exports, CRMs: the sub-packages sesmail, s3exports and kmscrm), so
// that the others do not link it.
type Option func(cfg config.Config, awsCfg aws.Config, d *api.Deps)

// Build builds an API function's dependencies from its configuration.
func Build(cfg config.Config, awsCfg aws.Config, c clock.Clock, log *slog.Logger, opts ...Option) (api.Deps, error) {
	cursors, err := httpapi.NewCursors(cfg.CursorSecret)
	if err != nil {
		return api.Deps{}, fmt.Errorf("cursor key: %w", err)
	}
	answers, err := httpapi.NewAnswers(cfg.CursorSecret)
	if err != nil {
		return api.Deps{}, fmt.Errorf("answer key: %w", err)
	}
	db := awsclient.DynamoDB(awsCfg, cfg.DynamoEndpoint)
	d := api.Deps{
		Store:      dynamo.New(db, cfg.TableName, c, ids.New(c, nil)),
		Cursors:    cursors,
		Answers:    answers,
		Links:      auth.NewLinkTokens(cfg.CursorSecret),
		Clock:      c,
		Log:        log,
		APIBaseURL: cfg.APIBaseURL,
		CSRF:       pages.NewCSRF(cfg.CursorSecret, c.Now),
	}
	for _, o := range opts {
		o(cfg, awsCfg, &d)
	}
	return d, nil
}

// Deps builds a function's dependencies from the environment; required
// lists its required variables (config.API, config.Mail, ...).
func Deps(ctx context.Context, getenv func(string) string, required []string, opts ...Option) (api.Deps, error) {
	cfg, err := config.Load(getenv, required...)
	if err != nil {
		return api.Deps{}, err
	}
	awsCfg, err := awsclient.Load(cfg)
	if err != nil {
		return api.Deps{}, err
	}
	return Build(cfg, awsCfg, clock.System{}, cfg.Logger(), opts...)
}

// Init builds the router of an API function from the environment.
func Init(ctx context.Context, getenv func(string) string, router func(api.Deps) *httpapi.Router, required []string, opts ...Option) (*httpapi.Router, error) {
	deps, err := Deps(ctx, getenv, required, opts...)
	if err != nil {
		return nil, err
	}
	return router(deps), nil
}

// Main runs an API function: it is all a function's main does. A
// configuration error ends the process at init with a message naming it,
// which Lambda reports as an init failure.
func Main(router func(api.Deps) *httpapi.Router, required []string, opts ...Option) {
	rt, err := Init(context.Background(), os.Getenv, router, required, opts...)
	if err != nil {
		exit(err)
	}
	lambda.Start(rt.Invoke)
}

// Start runs a function that is not behind the API (a scheduled one):
// handler builds its Lambda handler from the dependencies.
func Start(handler func(api.Deps) any, required []string, opts ...Option) {
	deps, err := Deps(context.Background(), os.Getenv, required, opts...)
	if err != nil {
		exit(err)
	}
	lambda.Start(handler(deps))
}

func exit(err error) {
	fmt.Fprintln(os.Stderr, "init:", err)
	os.Exit(1)
}
