// Package s3exports gives the export functions their S3 uploader and link
// signer. Only they link S3 (most of a megabyte).
package s3exports

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clientele/clientele/shared/api"
	"github.com/clientele/clientele/shared/config"
	"github.com/clientele/clientele/shared/export"
)

// Option is a function.Option.
func Option(cfg config.Config, awsCfg aws.Config, d *api.Deps) {
	if cfg.ExportsBucket == "" {
		return
	}
	s3c := Client(awsCfg, cfg.S3Endpoint)
	d.Exporter = &api.Exporter{
		Worker: &export.Worker{Store: d.Store, Uploader: export.NewUploader(s3c), Bucket: cfg.ExportsBucket, Log: d.Log},
		Links:  &export.Links{Presign: s3.NewPresignClient(s3c), Creds: awsCfg.Credentials, Bucket: cfg.ExportsBucket, TTL: cfg.ExportLinkTTL},
	}
}

// Client returns an S3 client; endpoint overrides the AWS endpoint (path-style
// addressing then, as emulators serve it).
func Client(cfg aws.Config, endpoint string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint, o.UsePathStyle = aws.String(endpoint), true
		}
	})
}
