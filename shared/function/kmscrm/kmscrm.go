// Package kmscrm gives the crm function its sealer of credentials (KMS) and
// its CRM connectors. Only it links KMS or calls out to a CRM.
package kmscrm

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/crm"
	"github.com/clientele/clientele/shared/seal"
)

// Option is a function.Option.
func Option(cfg config.Config, awsCfg aws.Config, d *api.Deps) {
	if cfg.CRMKeyID == "" {
		return
	}
	d.CRMs = &api.CRMs{
		Sealer:  seal.New(seal.Client(awsCfg, cfg.KMSEndpoint), cfg.CRMKeyID),
		Connect: func(c crm.Credentials) (crm.Connector, error) { return crm.New(c, crm.WithClock(d.Clock.Now)) },
		Origins: cfg.CRMAllowedOrigins,
	}
}
