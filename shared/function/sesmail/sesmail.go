// Package sesmail gives a function its mailer: SES v2 from MAIL_FROM, through
// MAIL_CONFIGURATION_SET. Only the functions that send mail link it.
package sesmail

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/invite"
	"github.com/clientele/clientele/shared/mail/ses"
)

// Mailer is the function's mailer; nil without MAIL_FROM.
func Mailer(b function.Base) invite.Mailer {
	if b.Config.MailFrom == "" {
		return nil
	}
	return ses.New(ses.Client(b.AWS, b.Config.SESEndpoint), b.Config.MailFrom, b.Config.MailConfigurationSet)
}

// Option is a function.Option.
func Option(b function.Base, d *api.Deps) { d.Mailer = Mailer(b) }
