package stack

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/clientele/clientele/infra/dynamodblocal"
	"github.com/clientele/clientele/shared/clientele"
)

// TestAnotherDynamoDB: with DYNAMODB_ENDPOINT set, the stack uses that
// DynamoDB (here a DynamoDB Local of the test's own, standing in for
// Docker, LocalStack or AWS) under a table name of its own, dropped on
// Close, and two such stacks do not see each other.
func TestAnotherDynamoDB(t *testing.T) {
	ddb, err := dynamodblocal.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ddb.Stop()
	t.Setenv("DYNAMODB_ENDPOINT", ddb.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	a, b := start(t), start(t)
	if a.Table == b.Table || !strings.HasPrefix(a.Table, Table+"-") {
		t.Fatalf("tables %q and %q: want one of each stack's own", a.Table, b.Table)
	}
	ctx := context.Background()
	c, err := clientele.NewCompany(clientele.CompanyInput{Name: "Only in a"}, "", a.Store.NewID(), a.Store.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.CreateCompany(ctx, Portal, c, clientele.Actor{Type: "staff", ID: "t"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store.GetCompany(ctx, Portal, c.ID); clientele.ErrorCode(err) != clientele.NotFound {
		t.Fatalf("the other stack reads a's company: %v", err)
	}
	if _, err := a.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(a.Table)}); err != nil {
		t.Fatalf("a's table is not on the endpoint: %v", err)
	}
	a.Close()
	if _, err := b.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(a.Table)}); err == nil {
		t.Fatal("a's table outlived its stack")
	}
}
