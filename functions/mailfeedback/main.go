// Command mailfeedback is the mail feedback function: an EventBridge rule
// delivers SES's events about invitation emails (delivered, bounced,
// complained about), and it records them on the user.
package main

import (
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/feedback"
	"github.com/clientele/clientele/shared/function"
)

func main() {
	function.Start(func(b function.Base) any { return (&feedback.Handler{Store: b.Store, Log: b.Log}).Handle }, config.API)
}
