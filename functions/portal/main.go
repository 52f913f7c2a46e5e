// Command portal is the Lambda function serving the portal routes of the API.
package main

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
)

func main() { function.Main(function.Routes(api.Portal), config.API) }
