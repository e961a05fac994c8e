package dynamolocal

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

var (
	endpointOnce sync.Once
	endpoint     string
	endpointErr  error
	server       *Server
)

// RunTests runs a package's tests; call it from TestMain. The first test
// that asks for a database gets the DynamoDB Local at $DYNAMODB_ENDPOINT
// (make test starts one for all packages) or one started for this package,
// which stops when the tests end. Tests that need no database (fuzz workers,
// -list) start nothing.
func RunTests(m *testing.M) int {
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	return code
}

// TestEndpoint returns the endpoint of the tests' DynamoDB Local, starting it if need be.
func TestEndpoint(t testing.TB) string {
	t.Helper()
	endpointOnce.Do(func() {
		endpoint = os.Getenv("DYNAMODB_ENDPOINT")
		if endpoint != "" {
			endpointErr = waitReady(context.Background(), endpoint)
			return
		}
		server, endpointErr = Start(context.Background(), Options{})
		if endpointErr == nil {
			endpoint = server.Endpoint
		}
	})
	if endpointErr != nil {
		t.Fatalf("dynamolocal: %v", endpointErr)
	}
	return endpoint
}

var (
	seq        atomic.Int64
	unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)
)

// NewTestDB creates the template's tables under a prefix unique to the test
// and returns a client and that prefix. Tests run in parallel without sharing data.
func NewTestDB(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	c := Client(TestEndpoint(t))
	name := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	prefix := fmt.Sprintf("t%d-%d-%s-", os.Getpid(), seq.Add(1), name)
	if err := CreateTables(context.Background(), c, prefix); err != nil {
		t.Fatal(err)
	}
	return c, prefix
}
