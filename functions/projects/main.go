// Command projects is the Lambda function serving the projects routes of the API.
package main

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/sesmail"
)

func main() { function.Main(function.Routes(api.Projects), config.Mail, sesmail.Option) }
