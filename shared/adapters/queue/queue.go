// Package queue carries message jobs from the flows that decide what to send
// to the sender, and stored webhook batches to the webhook worker: SQS in
// AWS, an in-process queue in the local run.
package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// SQS enqueues jobs on an SQS queue.
type SQS struct {
	Client *sqs.Client
	URL    string
}

// Enqueue sends jobs in batches of ten, the SQS limit.
func (q *SQS) Enqueue(ctx context.Context, jobs ...message.Job) error {
	bodies := make([]string, 0, len(jobs))
	for _, j := range jobs {
		body, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("encode job %s: %w", j.Key, err)
		}
		bodies = append(bodies, string(body))
	}
	return q.send(ctx, "jobs", bodies)
}

// EnqueueBatches queues stored webhook batches for the webhook worker.
func (q *SQS) EnqueueBatches(ctx context.Context, ids ...string) error {
	bodies := make([]string, 0, len(ids))
	for _, id := range ids {
		bodies = append(bodies, webhook.BatchBody(id))
	}
	return q.send(ctx, "webhook batches", bodies)
}

func (q *SQS) send(ctx context.Context, what string, bodies []string) error {
	for start := 0; start < len(bodies); start += 10 {
		end := min(start+10, len(bodies))
		var entries []types.SendMessageBatchRequestEntry
		for i, b := range bodies[start:end] {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.URL, Entries: entries})
		if err != nil {
			return fmt.Errorf("enqueue %d %s: %w", len(entries), what, err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("enqueue: %d of %d %s refused (%s)", len(out.Failed), len(entries), what, aws.ToString(out.Failed[0].Code))
		}
	}
	return nil
}

// Memory is the local run's queue: jobs wait in memory until Drain hands
// them to the sender as the SQS event Lambda would receive.
type Memory struct {
	mu      sync.Mutex
	jobs    []message.Job
	batches []string
	seq     int
}

// EnqueueBatches keeps webhook batch ids for the next DrainBatches.
func (q *Memory) EnqueueBatches(_ context.Context, ids ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.batches = append(q.batches, ids...)
	return nil
}

// Batches is the number of waiting webhook batches.
func (q *Memory) Batches() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.batches)
}

// DrainBatches takes up to n waiting webhook batches as an SQS event.
func (q *Memory) DrainBatches(n int) events.SQSEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.batches))
	var ev events.SQSEvent
	for _, id := range q.batches[:n] {
		q.seq++
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: "local-" + strconv.Itoa(q.seq), Body: webhook.BatchBody(id), EventSource: "aws:sqs",
		})
	}
	q.batches = q.batches[n:]
	return ev
}

// Enqueue keeps jobs for the next Drain.
func (q *Memory) Enqueue(_ context.Context, jobs ...message.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	return nil
}

// Len is the number of waiting jobs.
func (q *Memory) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

// Drain takes up to batch waiting jobs as an SQS event.
func (q *Memory) Drain(batch int) events.SQSEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(batch, len(q.jobs))
	var ev events.SQSEvent
	for _, j := range q.jobs[:n] {
		body, _ := json.Marshal(j)
		q.seq++
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: "local-" + strconv.Itoa(q.seq), Body: string(body), EventSource: "aws:sqs",
		})
	}
	q.jobs = q.jobs[n:]
	return ev
}
