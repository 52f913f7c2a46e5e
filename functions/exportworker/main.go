// Command exportworker is the export worker: the table's stream delivers
// each new export job, and it streams the file to S3.
package main

import (
	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/s3exports"
)

func main() {
	function.Start(func(d api.Deps) any { return d.ExportWorker }, config.ExportWorker, s3exports.Option)
}
