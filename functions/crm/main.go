// Command crm is the Lambda function serving the CRM routes of the API: the
// portal's connection, contact imports and deal conversions.
package main

import (
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/kmscrm"
	"github.com/clientele/clientele/shared/function/sesmail"
)

func main() { function.Main(kmscrm.Router, config.CRM, sesmail.Option) }
