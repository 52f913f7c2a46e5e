// Command pages is the Lambda function serving the client portal's public
// HTML pages: invitation links and password reset.
package main

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/sesmail"
)

func main() { function.Main(function.Routes(api.Pages), config.Mail, sesmail.Option) }
