// Package queue carries message jobs from the flows that decide what to send
// to the sender, and stored webhook batches to the webhook worker: SQS in
// AWS, an in-process queue in the local run.
package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/shared/domain/campaign"
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

// Depth is how many messages wait on the queue (SQS's approximate count):
// for a dead-letter queue, how many jobs failed for good.
func (q *SQS) Depth(ctx context.Context) (int, error) {
	out, err := q.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &q.URL,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return 0, fmt.Errorf("depth of %s: %w", q.URL, err)
	}
	n, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	if err != nil {
		return 0, fmt.Errorf("depth of %s: %w", q.URL, err)
	}
	return n, nil
}

// EnqueueShards queues a campaign's shards for the fan-out workers.
func (q *SQS) EnqueueShards(ctx context.Context, shards ...campaign.Shard) error {
	bodies, err := shardBodies(shards)
	if err != nil {
		return err
	}
	return q.send(ctx, "shards", bodies)
}

func shardBodies(shards []campaign.Shard) ([]string, error) {
	bodies := make([]string, 0, len(shards))
	for _, sh := range shards {
		body, err := json.Marshal(sh)
		if err != nil {
			return nil, fmt.Errorf("encode shard %s: %w", sh.ID(), err)
		}
		bodies = append(bodies, string(body))
	}
	return bodies, nil
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

// Memory is the local run's queues, with SQS's rules: send jobs for the
// sender, stored webhook batches for the webhook worker, and campaigns'
// shards for the fan-out workers.
type Memory struct {
	Jobs    Lane
	Batches Lane
	Shards  Lane
}

// EnqueueShards puts campaigns' shards on the fan-out queue.
func (q *Memory) EnqueueShards(_ context.Context, shards ...campaign.Shard) error {
	bodies, err := shardBodies(shards)
	if err != nil {
		return err
	}
	q.Shards.Send(bodies...)
	return nil
}

// DrainShards takes up to n shards off their queue for good.
func (q *Memory) DrainShards(n int) events.SQSEvent { return q.Shards.Take(n) }

// Enqueue puts jobs on the send queue.
func (q *Memory) Enqueue(_ context.Context, jobs ...message.Job) error {
	bodies := make([]string, 0, len(jobs))
	for _, j := range jobs {
		body, err := json.Marshal(j)
		if err != nil {
			return fmt.Errorf("encode job %s: %w", j.Key, err)
		}
		bodies = append(bodies, string(body))
	}
	q.Jobs.Send(bodies...)
	return nil
}

// EnqueueBatches puts stored webhook batches on the webhook queue.
func (q *Memory) EnqueueBatches(_ context.Context, ids ...string) error {
	bodies := make([]string, 0, len(ids))
	for _, id := range ids {
		bodies = append(bodies, webhook.BatchBody(id))
	}
	q.Batches.Send(bodies...)
	return nil
}

// Len is the number of jobs on the send queue, in flight included.
func (q *Memory) Len() int { return q.Jobs.Len() }

// Drain takes up to n jobs off the send queue for good, as one SQS event: a
// consumer that deletes what it receives (tests use it to lose jobs, too).
func (q *Memory) Drain(n int) events.SQSEvent { return q.Jobs.Take(n) }

// DrainBatches takes up to n webhook batches off their queue for good.
func (q *Memory) DrainBatches(n int) events.SQSEvent { return q.Batches.Take(n) }

// Defaults of a lane: SQS's maxReceiveCount in template.yaml, and a local
// visibility timeout short enough for a person waiting on `make run`.
const (
	DefaultMaxReceives = 5
	DefaultVisibility  = time.Second
)

// Lane is one local queue with SQS's rules. A received message is hidden
// while its handler works; one it reports as failed comes back after the
// visibility timeout; one received MaxReceives times and still
// failing moves to the dead-letter list, which the reconciler reads. The
// zero value is ready to use.
type Lane struct {
	Name        string
	Visibility  time.Duration // <0: none (tests); 0: DefaultVisibility
	MaxReceives int           // 0: DefaultMaxReceives
	Clock       func() time.Time

	mu   sync.Mutex
	msgs []*entry // in order of sending
	dead []string
	seq  int
}

type entry struct {
	id, body  string
	receives  int
	visibleAt time.Time
}

// Send adds messages.
func (l *Lane) Send(bodies ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range bodies {
		l.seq++
		l.msgs = append(l.msgs, &entry{id: l.id(), body: b})
	}
}

func (l *Lane) id() string {
	prefix := l.Name
	if prefix == "" {
		prefix = "local"
	}
	return prefix + "-" + strconv.Itoa(l.seq)
}

// Receive takes up to n visible messages, as SQS gives them to Lambda: they
// stay on the queue, hidden, until Done deletes them.
func (l *Lane) Receive(n int) events.SQSEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var ev events.SQSEvent
	kept := l.msgs[:0]
	for _, m := range l.msgs {
		switch {
		case len(ev.Records) >= n || m.visibleAt.After(now):
		case m.receives >= l.maxReceives():
			l.dead = append(l.dead, m.body) // received too often and still here: the redrive policy's DLQ
			continue
		default:
			// Hidden while its handler works, as an SQS queue whose visibility
			// timeout outlasts the function's; Done shows a failure again.
			m.receives++
			m.visibleAt = now.Add(inFlight)
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: m.id, Body: m.body, EventSource: "aws:sqs",
				Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)}})
		}
		kept = append(kept, m)
	}
	l.msgs = kept
	return ev
}

// Done deletes the messages of ev its handler did not report as failed; the
// failed ones come back once their visibility timeout ends.
func (l *Lane) Done(ev events.SQSEvent, resp events.SQSEventResponse) {
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	done := map[string]bool{}
	for _, r := range ev.Records {
		if !failed[r.MessageId] {
			done[r.MessageId] = true
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = slices.DeleteFunc(l.msgs, func(m *entry) bool { return done[m.id] })
	again := l.now().Add(l.visibility())
	for _, m := range l.msgs {
		if failed[m.id] {
			m.visibleAt = again
		}
	}
}

// inFlight hides a received message until its handler reports on it.
const inFlight = time.Hour

// Take removes up to n visible messages for good and returns them.
func (l *Lane) Take(n int) events.SQSEvent {
	ev := l.Receive(n)
	l.Done(ev, events.SQSEventResponse{})
	return ev
}

// Len is the number of messages on the queue, hidden ones included.
func (l *Lane) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.msgs)
}

// Dead is the dead-letter list: the bodies of messages that kept failing.
func (l *Lane) Dead() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.dead)
}

// Depth is the length of the dead-letter list (reconcile.DeadLetters).
func (l *Lane) Depth(context.Context) (int, error) { return len(l.Dead()), nil }

// NextVisible is when the next hidden message shows again, if any is hidden.
func (l *Lane) NextVisible() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var next time.Time
	for _, m := range l.msgs {
		if next.IsZero() || m.visibleAt.Before(next) {
			next = m.visibleAt
		}
	}
	return next, !next.IsZero()
}

// Work hands the lane's messages to handle, batches of ten, as workers
// concurrent Lambda invocations would: each takes the next batch as soon as
// it is done with its own, so one slow batch holds up only itself. It runs
// until the lane is empty (everything done, or in the dead-letter list),
// waiting out visibility timeouts in real time, and returns how many
// receives failed.
func (l *Lane) Work(ctx context.Context, workers int, handle func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) (int, error) {
	var failures atomic.Int64
	var pool errgroup.Group
	for range max(1, workers) {
		pool.Go(func() error {
			for l.Len() > 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				ev := l.Receive(10)
				if len(ev.Records) == 0 {
					// Hidden messages: failed ones waiting out their
					// visibility, or other workers' in flight.
					wait := 10 * time.Millisecond
					if next, ok := l.NextVisible(); ok {
						wait = min(max(next.Sub(l.now()), time.Millisecond), 100*time.Millisecond)
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(wait):
					}
					continue
				}
				resp, err := handle(ctx, ev)
				if err != nil {
					resp = events.SQSEventResponse{}
					for _, r := range ev.Records { // the whole batch failed: SQS retries all of it
						resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
					}
				}
				l.Done(ev, resp)
				failures.Add(int64(len(resp.BatchItemFailures)))
			}
			return nil
		})
	}
	err := pool.Wait()
	return int(failures.Load()), err
}

func (l *Lane) now() time.Time {
	if l.Clock != nil {
		return l.Clock()
	}
	return time.Now()
}

func (l *Lane) visibility() time.Duration {
	switch {
	case l.Visibility < 0:
		return 0
	case l.Visibility == 0:
		return DefaultVisibility
	}
	return l.Visibility
}

func (l *Lane) maxReceives() int {
	if l.MaxReceives > 0 {
		return l.MaxReceives
	}
	return DefaultMaxReceives
}
