// Command reminders is the scheduled function (EventBridge, hourly) that
// re-sends pending invitations through the re-invite gate.
package main

import (
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/sesmail"
	"github.com/clientele/clientele/shared/invite"
)

func main() {
	function.Start(func(b function.Base) any {
		return invite.Invitations{Store: b.Store, Mailer: sesmail.Mailer(b), Log: b.Log, BaseURL: b.Config.APIBaseURL}.Remind
	}, config.Reminders)
}
