package seal

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Client returns a KMS client; endpoint overrides the AWS endpoint (the
// local stand-in, infra/local/kms), as shared/awsclient does for others.
func Client(awsCfg aws.Config, endpoint string) *kms.Client {
	return kms.NewFromConfig(awsCfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
