// Package queue carries message jobs from the flows that decide what to send
// to the sender: SQS in AWS, an in-process queue in the local run.
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

	"github.com/daifuku/daifuku/shared/message"
)

// SQS enqueues jobs on an SQS queue.
type SQS struct {
	Client *sqs.Client
	URL    string
}

// Enqueue sends jobs in batches of ten, the SQS limit.
func (q *SQS) Enqueue(ctx context.Context, jobs ...message.Job) error {
	for start := 0; start < len(jobs); start += 10 {
		end := min(start+10, len(jobs))
		var entries []types.SendMessageBatchRequestEntry
		for i, j := range jobs[start:end] {
			body, err := json.Marshal(j)
			if err != nil {
				return fmt.Errorf("encode job %s: %w", j.Key, err)
			}
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))})
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.URL, Entries: entries})
		if err != nil {
			return fmt.Errorf("enqueue %d jobs: %w", len(entries), err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("enqueue: %d of %d jobs refused (%s)", len(out.Failed), len(entries), aws.ToString(out.Failed[0].Code))
		}
	}
	return nil
}

// Memory is the local run's queue: jobs wait in memory until Drain hands
// them to the sender as the SQS event Lambda would receive.
type Memory struct {
	mu   sync.Mutex
	jobs []message.Job
	seq  int
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
