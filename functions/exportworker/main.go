// Command exportworker is the export worker: the table's stream delivers
// each new export job, and it streams the file to S3.
package main

import (
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/function/s3exports"
)

func main() {
	function.Start(func(b function.Base) any { return s3exports.Worker(b).Handle }, config.ExportWorker)
}
