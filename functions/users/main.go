// Command users is the Lambda function serving the users routes of the API.
package main

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/sesmail"
)

func main() { function.Main(function.Routes(api.Users), config.Mail, sesmail.Option) }
