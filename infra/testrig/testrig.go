// Package testrig sets up the real parts an integration test runs on: fresh
// DynamoDB Local tables from template.yaml, a capture server standing in for
// LINE and SendGrid reached through the real SDK clients, the shipped
// templates, and the App wired as the Lambda functions wire it.
package testrig

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/daifuku/daifuku/infra/capture"
	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/shared/adapters/bucket"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/adapters/queue"
	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/edge/app"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
	"github.com/daifuku/daifuku/templates"
)

// The rig's monthly report: the bucket it is stored in, the owner it is emailed to.
const (
	ReportsBucket = "daifuku-reports"
	Owner         = "owner@example.jp"
)

// Rig is one test's world.
type Rig struct {
	*app.App
	Queue   *queue.Memory
	Capture *capture.Server
	Clock   *Clock
	URL     string
	// DB and Tables are the rig's DynamoDB client and tables, for tests that
	// build a store of their own (to count its reads, say).
	DB     *dynamodb.Client
	Tables dynamo.Tables
	// Deps built the App: a test builds another on them (a Live one, say).
	Deps app.Deps
}

// New builds a rig. Call dynamolocal.RunTests from the package's TestMain.
func New(t testing.TB) *Rig {
	t.Helper()
	db, prefix := dynamolocal.NewTestDB(t)
	content, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	cap := &capture.Server{}
	srv := httptest.NewServer(cap)
	t.Cleanup(srv.Close)
	lineClient, err := line.New("test-token", srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	mail, err := sendgrid.New("SG.test", srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	// The monthly reports go to the capture server's S3, through the real SDK client.
	reports := &bucket.S3{Bucket: ReportsBucket, Client: s3.New(s3.Options{
		Region: "ap-northeast-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, HTTPClient: srv.Client(),
	})}
	clock := &Clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	q := &queue.Memory{}
	deps := app.Deps{
		DB: db, Tables: dynamo.TablesWithPrefix(prefix), Queue: q, Batches: q, Content: content,
		LINE: lineClient, Mail: mail, Clock: clock.Now, Log: slog.New(slog.DiscardHandler),
		BaseURL: "https://api.example.jp", UnsubscribeSecret: "test-unsubscribe-secret",
		DeadLetters: map[string]reconcile.DeadLetters{"send": &q.Jobs, "webhook": &q.Batches}, Holder: t.Name(),
		Reports: reports, Owner: Owner, StudioURL: "https://api.example.jp/studio",
	}
	a := app.New(deps)
	// Inline retries wait in real time otherwise; tests that look at the waits set their own.
	a.Sender.Sleep = func(context.Context, time.Duration) error { return nil }
	a.Campaigns.Sleep = a.Sender.Sleep
	return &Rig{App: a, Queue: q, Capture: cap, Clock: clock, URL: srv.URL, DB: db, Tables: dynamo.TablesWithPrefix(prefix), Deps: deps}
}

// SendQueued hands every queued job to the sender as SQS batches would and
// returns how many were reported as failures.
func (r *Rig) SendQueued(t testing.TB) int {
	t.Helper()
	failed := 0
	for r.Queue.Len() > 0 {
		resp, err := handler.SendJobs(r.Sender)(context.Background(), r.Queue.Drain(10))
		if err != nil {
			t.Fatal(err)
		}
		failed += len(resp.BatchItemFailures)
	}
	return failed
}

// ProcessWebhooks hands every queued webhook batch to the webhook worker as
// SQS would and returns how many were reported as failures.
func (r *Rig) ProcessWebhooks(t testing.TB) int {
	t.Helper()
	failed := 0
	for r.Queue.Batches.Len() > 0 {
		resp, err := handler.ApplyWebhooks(r.Webhooks)(context.Background(), r.Queue.DrainBatches(10))
		if err != nil {
			t.Fatal(err)
		}
		failed += len(resp.BatchItemFailures)
	}
	return failed
}

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
