// Package handler adapts AWS Lambda events to daifuku's flows: SQS batches of
// send jobs and of webhook batches (reporting partial batch failures),
// EventBridge orders, and the scheduler's tasks. Each function's main hands
// one of these to lambda.Start; tests, `make run` and `make serve` call the
// same ones.
package handler

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/sending"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// SQSHandler handles one SQS event, reporting the records to retry.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// sendWorkers bounds how many jobs of one SQS batch are sent at once: a slow
// answer for one customer must not hold up the other nine.
const sendWorkers = 10

// MaxSendTime bounds one message's send, and reportMargin is kept back from
// the function's own deadline so that a slow message is reported for retry
// rather than cut off with the rest of the batch.
const (
	MaxSendTime  = 25 * time.Second
	reportMargin = 2 * time.Second
)

// sendTimeout is how long one message of a batch may take: its own deadline
// inside the function's timeout.
func sendTimeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(min(time.Until(dl)-reportMargin, MaxSendTime), time.Second)
	}
	return MaxSendTime
}

// SendJobs delivers a batch of send jobs, several at once, and reports the
// ones to retry as SQS partial batch failures, so one failure does not
// resend the whole batch.
func SendJobs(s *sending.Sender) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var (
			mu   sync.Mutex
			resp events.SQSEventResponse
			pool errgroup.Group
		)
		pool.SetLimit(sendWorkers)
		for _, rec := range ev.Records {
			pool.Go(func() error {
				ctx, cancel := context.WithTimeout(ctx, sendTimeout(ctx))
				defer cancel()
				var job message.Job
				err := json.Unmarshal([]byte(rec.Body), &job)
				if err == nil {
					err = s.Send(ctx, job)
				}
				// A malformed job goes to the DLQ after its retries, where people can see it.
				if err != nil {
					s.Logger().WarnContext(ctx, "job failed; SQS will retry it", "sqs_message_id", rec.MessageId, "error", err)
					mu.Lock()
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
					mu.Unlock()
				}
				return nil
			})
		}
		_ = pool.Wait() // failures are reported per record
		return resp, nil
	}
}

// DecideShards decides the campaign shards of an SQS batch (one, as the
// template sets it: a shard's time and memory are bounded, a batch's would
// not be), reporting those to retry; a shard that keeps failing ends in the
// DLQ, and the campaign's status names it.
func DecideShards(r *campaigns.Runner) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, rec := range ev.Records {
			sh, err := campaign.ParseShard(rec.Body)
			if err == nil {
				_, err = r.DecideShard(ctx, sh)
			}
			if err != nil {
				r.Logger().WarnContext(ctx, "shard failed; SQS will retry it", "sqs_message_id", rec.MessageId, "shard", sh.ID(), "error", err)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		}
		return resp, nil
	}
}

// ApplyWebhooks processes queued webhook batches, reporting the ones that
// failed so SQS retries only those (and, after five failures, parks them in
// the DLQ).
func ApplyWebhooks(p *webhooks.Processor) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, rec := range ev.Records {
			id, err := webhook.ParseBatchBody(rec.Body)
			if err != nil {
				// Not ours and never will be: retrying cannot help; the DLQ keeps it.
				p.Logger().ErrorContext(ctx, "webhook queue: unreadable message", "sqs_message_id", rec.MessageId)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				continue
			}
			if err := p.Process(ctx, id); err != nil {
				p.Logger().ErrorContext(ctx, "webhook batch failed; SQS will retry", "batch_id", id, "error", err)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		}
		return resp, nil
	}
}
