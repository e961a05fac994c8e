package sender

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/shared/message"
)

// batchWorkers bounds how many jobs of one SQS batch are sent at once.
const batchWorkers = 10

// HandleSQS sends a batch of jobs and reports the ones to retry as SQS partial
// batch failures, so one failure does not resend the whole batch.
func (s *Sender) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
		wg   sync.WaitGroup
		sem  = make(chan struct{}, batchWorkers)
	)
	for _, rec := range ev.Records {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.handleRecord(ctx, rec); err != nil {
				s.log().WarnContext(ctx, "job failed; SQS will retry it", "sqs_message_id", rec.MessageId, "error", err)
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return resp, nil
}

func (s *Sender) handleRecord(ctx context.Context, rec events.SQSMessage) error {
	var job message.Job
	if err := json.Unmarshal([]byte(rec.Body), &job); err != nil {
		return err // a malformed job goes to the DLQ after its retries, where people can see it
	}
	return s.Send(ctx, job)
}
