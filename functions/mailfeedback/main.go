// Command mailfeedback is the mail feedback function: an EventBridge rule
// delivers SES's events about invitation emails (delivered, bounced,
// complained about), and it records them on the user.
package main

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/feedback"
	"github.com/clientele/clientele/shared/function"
)

func main() {
	function.Start(func(d api.Deps) any { return (&feedback.Handler{Store: d.Store, Log: d.Log}).Handle }, config.API)
}
