// Package sesmail gives a function its mailer: SES v2 from MAIL_FROM, through
// MAIL_CONFIGURATION_SET. Only the functions that send mail link it.
package sesmail

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/mail/ses"
)

// Option is a function.Option.
func Option(cfg config.Config, awsCfg aws.Config, d *api.Deps) {
	if cfg.MailFrom != "" {
		d.Mailer = ses.New(ses.Client(awsCfg, cfg.SESEndpoint), cfg.MailFrom, cfg.MailConfigurationSet)
	}
}
