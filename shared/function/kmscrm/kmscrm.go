// Package kmscrm gives the crm function its sealer of credentials (KMS) and
// its CRM connectors. Only it links KMS or calls out to a CRM.
package kmscrm

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/crm"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/seal"
)

// Option is a function.Option.
func Option(b function.Base, d *api.Deps) {
	cfg := b.Config
	if cfg.CRMKeyID == "" {
		return
	}
	d.CRMs = &api.CRMs{
		Sealer:  seal.New(seal.Client(b.AWS, cfg.KMSEndpoint), cfg.CRMKeyID),
		Connect: func(c crm.Credentials) (crm.Connector, error) { return crm.New(c, crm.WithClock(d.Clock.Now)) },
		Origins: cfg.CRMAllowedOrigins,
	}
}
