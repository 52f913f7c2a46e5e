// Package kmscrm gives the crm function its sealer of credentials (KMS) and
// its CRM connectors. Only it links KMS or calls out to a CRM.
package kmscrm

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/crm"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/httpapi"
	"github.com/clientele/clientele/shared/seal"
)

// CRMs is how the crm function reaches the portals' CRMs: credentials
// sealed under CRM_KMS_KEY_ID, connectors on the function's clock.
func CRMs(b function.Base) api.CRMs {
	return api.CRMs{
		Sealer:  seal.New(seal.Client(b.AWS, b.Config.KMSEndpoint), b.Config.CRMKeyID),
		Connect: func(c crm.Credentials) (crm.Connector, error) { return crm.New(c, crm.WithClock(b.Clock.Now)) },
		Origins: b.Config.CRMAllowedOrigins,
	}
}

// Router is the crm function's router.
func Router(b function.Base, d api.Deps) *httpapi.Router { return api.CRM(d, CRMs(b)) }
