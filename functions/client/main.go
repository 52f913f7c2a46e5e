// Command client is the Lambda function serving invitation links, client
// sessions and the signed-in client's own routes.
package main

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/sesmail"
)

func main() { function.Main(function.Routes(api.Client), config.Mail, sesmail.Option) }
