// Package local brings daifuku up on one machine: DynamoDB Local with the
// tables of template.yaml, the capture servers standing in for LINE and
// SendGrid (unless real credentials are set), and the same App the Lambda
// functions run, with an in-process queue in place of SQS.
package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/infra/capture"
	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/shared/adapters/bucket"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/adapters/queue"
	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/edge/app"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/shared/flows/monthly"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
)

// LocalAPI is where `make serve` answers; local unsubscribe links point there.
const LocalAPI = "http://localhost:3000"

// localSecret signs local unsubscribe links (AWS uses the one in Secrets Manager).
const localSecret = "local-unsubscribe-secret"

// TablePrefix names the local tables: daifuku-CustomersTable and so on.
const TablePrefix = "daifuku-"

// Options configure an Env.
type Options struct {
	Dir      string // state folder, normally .local
	DynamoDB string // endpoint of a running DynamoDB; "" starts DynamoDB Local with data in Dir/dynamodb
	Prefix   string // table prefix; "" means TablePrefix
	// CaptureAddr is where the capture server listens; "" picks a free port.
	CaptureAddr string
	// Capture runs the capture server even when real credentials are set.
	Capture bool
	// CaptureFaults wraps the capture server's handler: a chaos run injects
	// errors, resets and slow answers there.
	CaptureFaults func(http.Handler) http.Handler
	// Content fixes the content; nil: the content published in the local
	// content table, seeded from templates/ on first start.
	Content *content.Content
	// Clock tells every flow the time; nil: the wall clock.
	Clock func() time.Time
	// Visibility is the local queues' visibility timeout: how long a failed
	// job waits before it is tried again (0: queue.DefaultVisibility;
	// negative: none, for tests).
	Visibility time.Duration
	// Invocations is how many batches of ten the local drain works at once,
	// as concurrent Lambda invocations would (0: DefaultInvocations).
	Invocations int
	Log         *slog.Logger
}

// Env is a running local environment.
type Env struct {
	*app.App
	// Live follows the content published in the studio (the App above is
	// the one loaded at start); nil when Options.Content fixed it.
	Live       *app.Live
	Queue      *queue.Memory
	Capture    *capture.Server // nil when real credentials are used for both providers
	CaptureURL string
	DynamoDB   string
	// Timeouts bound the connections of Serve; zero: DefaultTimeouts.
	Timeouts    Timeouts
	invocations int
	stop        []func()
	log         *slog.Logger
	// mailToCapture: emails go to the capture server, which posts their
	// processed events back as SendGrid's event webhook would.
	mailToCapture bool
}

// DefaultInvocations is how many senders the local drain runs at once.
const DefaultInvocations = 4

// Start brings the environment up. Close takes it down.
func Start(ctx context.Context, o Options) (*Env, error) {
	e := &Env{Queue: &queue.Memory{Jobs: queue.Lane{Name: "send", Visibility: o.Visibility},
		Batches: queue.Lane{Name: "webhook", Visibility: o.Visibility}}, invocations: o.Invocations}
	if e.invocations <= 0 {
		e.invocations = DefaultInvocations
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	e.log = o.Log
	if o.Prefix == "" {
		o.Prefix = TablePrefix
	}
	e.DynamoDB = o.DynamoDB
	if e.DynamoDB == "" {
		srv, err := dynamolocal.Start(ctx, dynamolocal.Options{
			Port: 8000, DBPath: filepath.Join(o.Dir, "dynamodb"), Log: filepath.Join(o.Dir, "dynamodb.log"),
		})
		if err != nil {
			return nil, err
		}
		e.stop = append(e.stop, srv.Stop)
		e.DynamoDB = srv.Endpoint
	}
	db := dynamolocal.Client(e.DynamoDB)
	if err := dynamolocal.CreateTables(ctx, db, o.Prefix); err != nil {
		e.Close()
		return nil, err
	}

	lineClient, mail, err := e.providers(o)
	if err != nil {
		e.Close()
		return nil, err
	}
	reports, err := reportFiles(ctx, o.Dir)
	if err != nil {
		e.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	deps := app.Deps{
		DB: db, Tables: dynamo.TablesWithPrefix(o.Prefix), Queue: e.Queue, Batches: e.Queue, Content: o.Content,
		LINE: lineClient, Mail: mail, Clock: o.Clock, Log: o.Log,
		BaseURL: LocalAPI, UnsubscribeSecret: localSecret,
		EmailEvents: e.mailToCapture,
		DeadLetters: map[string]reconcile.DeadLetters{"send": &e.Queue.Jobs, "webhook": &e.Queue.Batches},
		Holder:      fmt.Sprintf("%s (process %d)", host, os.Getpid()),
		Reports:     reports, Owner: os.Getenv("OWNER_EMAIL"), StudioURL: LocalAPI + "/studio",
	}
	if o.Content != nil {
		e.App = app.New(deps)
	} else {
		now := time.Now
		if o.Clock != nil {
			now = o.Clock
		}
		if _, err := app.Seed(ctx, dynamo.New(db, deps.Tables), "seed", now()); err != nil {
			e.Close()
			return nil, err
		}
		if e.Live, err = app.NewLive(ctx, deps); err != nil {
			e.Close()
			return nil, err
		}
		e.App = e.Live.App(ctx)
	}
	if e.mailToCapture {
		// As SendGrid's event webhook: every email the capture server takes is
		// reported processed, into the inbox the API would store it in.
		e.Capture.Processed = func(ev json.RawMessage) {
			if _, err := e.Inbox.Accept(context.Background(), webhook.SendGrid, []json.RawMessage{ev}); err != nil {
				e.log.Error("local processed event not stored", "error", err)
			}
		}
	}
	return e, nil
}

// providers builds the LINE and SendGrid clients. A provider with credentials
// is used for real (at its *_ENDPOINT/_HOST when set). Without credentials,
// its endpoint variable, if set, names a stand-in of the developer's; if not,
// the capture server takes its requests.
func (e *Env) providers(o Options) (*line.Client, *sendgrid.Client, error) {
	lineClient, err := app.LINE()
	if err != nil {
		return nil, nil, err
	}
	mail, err := app.SendGrid()
	if err != nil {
		return nil, nil, err
	}
	lineURL, mailURL := os.Getenv("LINE_API_ENDPOINT"), os.Getenv("SENDGRID_API_HOST")
	if o.Capture || (lineClient == nil && lineURL == "") || (mail == nil && mailURL == "") {
		if err := e.startCapture(o.CaptureAddr, filepath.Join(o.Dir, "outbox"), o.CaptureFaults); err != nil {
			return nil, nil, err
		}
	}
	if lineURL == "" {
		lineURL = e.CaptureURL
	}
	if mailURL == "" {
		mailURL = e.CaptureURL
	}
	if lineClient == nil {
		if lineClient, err = line.New(captureToken, lineURL, nil); err != nil {
			return nil, nil, err
		}
	}
	if mail == nil {
		if mail, err = sendgrid.New(captureToken, mailURL, nil); err != nil {
			return nil, nil, err
		}
		e.mailToCapture = mailURL == e.CaptureURL
	}
	return lineClient, mail, nil
}

// reportFiles is where the monthly reports go: the folder (Dir/reports/…),
// or, with REPORTS_BUCKET set, that bucket (at S3_ENDPOINT when set, for a
// stand-in of the developer's).
func reportFiles(ctx context.Context, dir string) (monthly.Files, error) {
	name := os.Getenv("REPORTS_BUCKET")
	if name == "" {
		return &bucket.Dir{Root: dir}, nil
	}
	client, err := app.S3(ctx)
	if err != nil {
		return nil, err
	}
	return &bucket.S3{Client: client, Bucket: name}, nil
}

// captureToken stands in for credentials: the capture server takes any bearer token.
const captureToken = "local-capture"

func (e *Env) startCapture(addr, outbox string, faults func(http.Handler) http.Handler) error {
	if err := os.MkdirAll(outbox, 0o755); err != nil {
		return err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("capture server: %w", err)
	}
	e.Capture = &capture.Server{Outbox: outbox}
	var h http.Handler = e.Capture
	if faults != nil {
		h = faults(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	e.CaptureURL = "http://" + l.Addr().String()
	e.stop = append(e.stop, func() { _ = srv.Close() })
	return nil
}

// SendQueued works the local queues as Lambda works SQS until both are
// empty: jobs go to the sender, several batches at once, while webhook
// batches (the capture server's processed events among them) go to the
// webhook worker at the same time, so an event can arrive before the answer
// its sender waits for, as in AWS. A job that keeps failing ends in the send
// queue's dead-letter list after its receives; its message stays in flight
// in the ledger, where the reconciler finds it (`daifuku messages stuck`).
func (e *Env) SendQueued(ctx context.Context) error {
	for e.Queue.Len() > 0 || e.Queue.Batches.Len() > 0 {
		a := e.current(ctx)
		var lanes errgroup.Group
		lanes.Go(func() error {
			_, err := e.Queue.Jobs.Work(ctx, e.invocations, handler.SendJobs(a.Sender))
			return err
		})
		lanes.Go(func() error {
			_, err := e.Queue.Batches.Work(ctx, 1, handler.ApplyWebhooks(a.Webhooks))
			return err
		})
		if err := lanes.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// current is the App on the content published now (a serving process
// follows the studio's publishes).
func (e *Env) current(ctx context.Context) *app.App {
	if e.Live != nil {
		return e.Live.App(ctx)
	}
	return e.App
}

// Dead counts the local dead-letter lists: jobs and webhook batches that
// failed every receive.
func (e *Env) Dead() (jobs, batches int) {
	return len(e.Queue.Jobs.Dead()), len(e.Queue.Batches.Dead())
}

// Close stops what Start started.
func (e *Env) Close() {
	for i := len(e.stop) - 1; i >= 0; i-- {
		e.stop[i]()
	}
}
