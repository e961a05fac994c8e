package webhooks

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Store keeps batches as received.
type Store interface {
	PutBatch(ctx context.Context, b webhook.Batch) (isNew bool, status string, err error)
}

// Queue hands stored batches to the worker.
type Queue interface {
	EnqueueBatches(ctx context.Context, ids ...string) error
}

// MaxBatchBytes keeps a batch item well under DynamoDB's 400 KB item limit;
// a larger request is split.
const MaxBatchBytes = 300 << 10

// Acceptor takes webhook events in: stored first, then queued, then answered.
type Acceptor struct {
	flow.Env
	Store Store
	Queue Queue
}

// TooLargeError is a single event bigger than a batch may be.
type TooLargeError struct{ Bytes int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("an event of %d bytes is larger than the %d a batch holds", e.Bytes, MaxBatchBytes)
}

// Accept stores the events of one request durably and queues them for
// processing. It returns once both are done: then the provider may be told
// 200. A redelivered request maps to the batch already stored; it is queued
// again unless it was processed, and the worker applies each event once.
func (a *Acceptor) Accept(ctx context.Context, src webhook.Source, events []json.RawMessage) (batches int, err error) {
	now := a.Now()
	var ids []string
	var chunk []string
	size := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		b := webhook.Batch{ID: webhook.BatchID(src, chunk), Source: src, Events: chunk, ReceivedAt: now, Status: webhook.Received,
			ExpiresAt: now.Add(webhook.Retention).Unix()}
		isNew, status, err := a.Store.PutBatch(ctx, b)
		if err != nil {
			return err
		}
		if isNew || status != webhook.Done {
			ids = append(ids, b.ID)
		}
		chunk, size = nil, 0
		return nil
	}
	for _, e := range events {
		if len(e) > MaxBatchBytes {
			return 0, &TooLargeError{Bytes: len(e)}
		}
		if size+len(e) > MaxBatchBytes {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		chunk = append(chunk, string(e))
		size += len(e)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := a.Queue.EnqueueBatches(ctx, ids...); err != nil {
		// Stored but not queued: answering an error makes the provider
		// redeliver, and the redelivery queues the stored batch.
		return 0, fmt.Errorf("queue %d webhook batches: %w", len(ids), err)
	}
	return len(ids), nil
}
