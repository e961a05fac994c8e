package dynamolocal

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

var testEndpoint string

// RunTests runs a package's tests against DynamoDB Local: the one at
// $DYNAMODB_ENDPOINT (make test starts one for all packages), or one started
// here for this package. Call it from TestMain.
func RunTests(m *testing.M) int {
	testEndpoint = os.Getenv("DYNAMODB_ENDPOINT")
	if testEndpoint != "" {
		if err := waitReady(context.Background(), testEndpoint); err != nil {
			fmt.Fprintln(os.Stderr, "dynamolocal:", err)
			return 1
		}
	} else {
		s, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "dynamolocal:", err)
			return 1
		}
		defer s.Stop()
		testEndpoint = s.Endpoint
	}
	return m.Run()
}

var (
	seq        atomic.Int64
	unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)
)

// NewTestDB creates the template's tables under a prefix unique to the test
// and returns a client and that prefix. Tests run in parallel without sharing data.
func NewTestDB(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	if testEndpoint == "" {
		t.Fatal("dynamolocal: call dynamolocal.RunTests from TestMain")
	}
	name := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	prefix := fmt.Sprintf("t%d-%d-%s-", os.Getpid(), seq.Add(1), name)
	c := Client(testEndpoint)
	if err := CreateTables(context.Background(), c, prefix); err != nil {
		t.Fatal(err)
	}
	return c, prefix
}

// TestEndpoint is the DynamoDB Local the package's tests use.
func TestEndpoint() string { return testEndpoint }
