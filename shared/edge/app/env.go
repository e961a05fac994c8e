package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/daifuku/daifuku/shared/adapters/bucket"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/adapters/queue"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/monthly"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
)

// Logger is the JSON logger every function uses.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// FromEnv builds the App a Lambda function runs on, from the variables
// template.yaml sets, on the published content (seeded from templates/ on
// first start where CONTENT_SEED is set). Call it once, at init.
func FromEnv(ctx context.Context) (*Live, error) {
	log := Logger()
	slog.SetDefault(log)
	tables, err := dynamo.TablesFromEnv()
	if err != nil {
		return nil, err
	}
	db, err := DynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	sqsClient, err := SQS(ctx)
	if err != nil {
		return nil, err
	}
	url := os.Getenv("SEND_QUEUE_URL")
	if url == "" {
		return nil, errors.New("SEND_QUEUE_URL must be set")
	}
	// Only the API and the webhook worker use the webhook queue.
	batches := &queue.SQS{Client: sqsClient, URL: os.Getenv("WEBHOOK_QUEUE_URL")}
	lineClient, err := LINE()
	if err != nil {
		return nil, err
	}
	mail, err := SendGrid()
	if err != nil {
		return nil, err
	}
	// Only the schedule function watches the dead-letter queues.
	dead := map[string]reconcile.DeadLetters{}
	for name, env := range map[string]string{"send": "SEND_DLQ_URL", "webhook": "WEBHOOK_DLQ_URL", "fan-out": "FANOUT_DLQ_URL"} {
		if u := os.Getenv(env); u != "" {
			dead[name] = &queue.SQS{Client: sqsClient, URL: u}
		}
	}
	// Only the schedule function stores the monthly reports.
	var reports monthly.Files
	if name := os.Getenv("REPORTS_BUCKET"); name != "" {
		client, err := S3(ctx)
		if err != nil {
			return nil, err
		}
		reports = &bucket.S3{Client: client, Bucket: name}
	}
	if os.Getenv("CONTENT_SEED") == "true" {
		if seeded, err := Seed(ctx, dynamo.New(db, tables), "seed", time.Now()); err != nil {
			return nil, err
		} else if seeded {
			log.InfoContext(ctx, "content table seeded from templates/")
		}
	}
	senders, err := concurrency("SENDER_MAX_CONCURRENCY")
	if err != nil {
		return nil, err
	}
	fanouts, err := concurrency("FANOUT_MAX_CONCURRENCY")
	if err != nil {
		return nil, err
	}
	// Without a fan-out queue (sam local, say) the hourly run decides the shards.
	var shards campaigns.ShardQueue
	if u := os.Getenv("FANOUT_QUEUE_URL"); u != "" {
		shards = &queue.SQS{Client: sqsClient, URL: u}
	}
	return NewLive(ctx, Deps{
		DB: db, Tables: tables, Queue: &queue.SQS{Client: sqsClient, URL: url}, Batches: batches,
		LINE: lineClient, Mail: mail, Log: log,
		BaseURL: os.Getenv("API_BASE_URL"), UnsubscribeSecret: os.Getenv("UNSUBSCRIBE_SECRET"),
		// The event webhook's key is set where SendGrid's events can settle ambiguous emails.
		EmailEvents: os.Getenv("SENDGRID_WEBHOOK_PUBLIC_KEY") != "",
		DeadLetters: dead,
		Holder:      "lambda " + os.Getenv("AWS_LAMBDA_LOG_STREAM_NAME"),
		Reports:     reports, Owner: os.Getenv("OWNER_EMAIL"), StudioURL: os.Getenv("STUDIO_URL"),
		Senders: senders, FanOuts: fanouts, Shards: shards,
	})
}

// concurrency is how many instances of a function SQS may run at once, as
// the template tells it (SENDER_MAX_CONCURRENCY, FANOUT_MAX_CONCURRENCY):
// unset, 0 (one process does it all); anything but a whole number from 1
// to 1000 is refused, since a rate shared among a count that cannot be is
// not kept.
func concurrency(name string) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, fmt.Errorf("%s=%q: want a whole number from 1 to 1000 (SQS's maximum concurrency)", name, v)
	}
	return n, nil
}
