// Command floor is the hello-world that also builds a DynamoDB client, as
// every function does before its first /next: the SDK's share of a cold
// start (its packages' init, the client's construction, the larger
// binary), measured beside the hello-world by make coldstart.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// db is kept, as a function keeps its store's client.
var db *dynamodb.Client

func main() {
	db = dynamodb.NewFromConfig(aws.Config{Region: os.Getenv("AWS_REGION"),
		Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))})
	lambda.Start(func() (string, error) { return "hello", nil })
}
