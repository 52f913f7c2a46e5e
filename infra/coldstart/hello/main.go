// Command hello is the hello-world Lambda that cold starts are measured
// against: aws-lambda-go and nothing else, built with the functions' flags.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "hello", nil })
}
