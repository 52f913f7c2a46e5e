// Command reminders is the scheduled function (EventBridge, hourly) that
// re-sends pending invitations through the re-invite gate.
package main

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/sesmail"
)

func main() {
	function.Start(func(d api.Deps) any { return d.Reminders }, config.Reminders, sesmail.Option)
}
