// Package flow holds what every flow takes from whoever runs it, and the few
// moves the flows share: a clock and a logger, injected the same way
// everywhere (so tests, what-if runs and the CLI choose the time, and nothing
// reads the wall clock behind their back); the retry of a read-modify-write
// that lost a race; and the recording of a decided message.
package flow

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// Env is what a flow takes from its caller.
type Env struct {
	// Clock tells the time; nil reads the wall clock.
	Clock func() time.Time
	// Log takes JSON logs of ids and counts, never personal data; nil: slog.Default().
	Log *slog.Logger
}

// Now is the time by the flow's clock.
func (e Env) Now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}

// Logger is the flow's logger.
func (e Env) Logger() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// MaxAttempts bounds the retries of a read-modify-write that keeps losing races.
const MaxAttempts = 8

// RetryConflicts runs attempt again while it fails with domain.ErrConflict
// (the item changed since it was read), at most MaxAttempts times. Each
// attempt must read what it changes afresh.
func RetryConflicts(ctx context.Context, attempt func() error) error {
	var err error
	for range MaxAttempts {
		if err = attempt(); !errors.Is(err, domain.ErrConflict) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return err
}

// StaleAfter is how long a queued message's job is trusted to be on its way:
// a retry within it queues nothing; after it, the job may have been lost
// (the first delivery stopped before queueing it) and is queued again.
const StaleAfter = 5 * time.Minute

// Decisions is where decided messages are recorded.
type Decisions interface {
	// CreateMessage records a message unless its key exists, and makes the
	// change to its customer's record of what counts against the cap, in the
	// same write.
	CreateMessage(ctx context.Context, r message.Record, capped delivery.CapChange) (created bool, err error)
	Message(ctx context.Context, key message.Key) (*message.Record, error)
}

// Decide records a decided message (queued, skipped, suppressed…) unless a
// decision was recorded under its key before, and returns the decision on
// record: this one, or the earlier one. A decision on record that is still
// queued may never have reached the send queue (the run that made it stopped
// in between): the caller hands its Pending job on again (to the queue, or
// to a multicast), which the sender's claim makes safe. capped is what the
// decision does to its customer's record of what counts against the cap
// (Policy.CapChange): written with it, so it counts once, or not at all.
func Decide(ctx context.Context, l Decisions, r message.Record, capped delivery.CapChange) (onRecord *message.Record, created bool, err error) {
	created, err = l.CreateMessage(ctx, r, capped)
	if err != nil {
		return nil, false, err
	}
	if created {
		return &r, true, nil
	}
	prev, err := l.Message(ctx, r.Key)
	if err != nil {
		return nil, false, err
	}
	return prev, false, nil
}
