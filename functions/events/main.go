// Command events is the events function: the table's stream delivers each
// new history entry, and it publishes them to EventBridge. It wires itself
// rather than through shared/function, which would link the whole API.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clientele/clientele/shared/awsclient"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/publish"
)

func main() {
	cfg, err := config.Load(os.Getenv, config.Events...)
	if err != nil {
		exit(err)
	}
	awsCfg, err := awsclient.Load(cfg)
	if err != nil {
		exit(err)
	}
	p := publish.New(publish.Client(awsCfg, cfg.EventsEndpoint), cfg.EventBus, cfg.Logger())
	lambda.Start(p.Handle)
}

func exit(err error) {
	fmt.Fprintln(os.Stderr, "init:", err)
	os.Exit(1)
}
