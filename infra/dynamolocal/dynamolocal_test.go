package dynamolocal_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/infra/dynamolocal"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

func indexes(t *testing.T, c *dynamodb.Client, table string) []string {
	t.Helper()
	out, err := c.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range out.Table.GlobalSecondaryIndexes {
		names = append(names, *g.IndexName)
	}
	return names
}

// A .local kept from before an index was declared gets the index on the
// next start, as CloudFormation would add it in AWS.
func TestAnExistingTableGetsTheIndexesDeclaredSince(t *testing.T) {
	c, prefix := dynamolocal.NewTestDB(t)
	ctx := context.Background()
	table := prefix + "MessagesTable"
	if _, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(table),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("by-pending")}}},
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); slices.Contains(indexes(t, c, table), "by-pending"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the index was not dropped")
		}
	}
	if err := dynamolocal.CreateTables(ctx, c, prefix); err != nil {
		t.Fatal(err)
	}
	if got := indexes(t, c, table); !slices.Contains(got, "by-pending") {
		t.Errorf("indexes after a start: %v; want by-pending back", got)
	}
}
