// Package s3exports gives the export functions their S3 uploader and link
// signer. Only they link S3 (most of a megabyte).
package s3exports

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/export"
	"github.com/clientele/clientele/shared/function"
	"github.com/clientele/clientele/shared/httpapi"
)

// Worker is the export worker of the function's bucket.
func Worker(b function.Base) *export.Worker {
	return &export.Worker{Store: b.Store, Uploader: export.NewUploader(Client(b.AWS, b.Config.S3Endpoint)),
		Bucket: b.Config.ExportsBucket, Log: b.Log}
}

// Downloads signs the download links of the function's bucket.
func Downloads(b function.Base) *export.Links {
	return &export.Links{Presign: s3.NewPresignClient(Client(b.AWS, b.Config.S3Endpoint)), Creds: b.AWS.Credentials,
		Bucket: b.Config.ExportsBucket, TTL: b.Config.ExportLinkTTL}
}

// Router is the exports function's router.
func Router(b function.Base, d api.Deps) *httpapi.Router { return api.Exports(d, Downloads(b)) }

// Client returns an S3 client; endpoint overrides the AWS endpoint (path-style
// addressing then, as emulators serve it).
func Client(cfg aws.Config, endpoint string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint, o.UsePathStyle = aws.String(endpoint), true
		}
	})
}
