// Command exports is the Lambda function serving the exports and imports
// routes of the API.
package main

import (
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/s3exports"
)

func main() { function.Main(s3exports.Router, config.Exports) }
