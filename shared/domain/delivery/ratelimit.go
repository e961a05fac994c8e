package delivery

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"
)

// Limiter keeps a steady request rate to one provider: a token bucket
// (golang.org/x/time/rate) refilled at the configured rate, holding at least
// one request, so that rates below one a second are served too.
type Limiter struct{ bucket *rate.Limiter }

// Rates a limiter serves, in requests per second: slower than one a minute
// would hold a send past any function's timeout; faster than MaxRate is no
// limit any provider sets.
const (
	MinRate = 1.0 / 60
	MaxRate = 100_000
)

// NewLimiter returns a limiter of perSecond requests per second, or nil (no
// limit) for 0. Its burst is a second's worth, rounded down, and at least
// one (a bucket that holds less never grants): instances that share an
// account's rate, each with a full bucket, then send no more than a second
// of the account's rate at once.
func NewLimiter(perSecond float64) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	return &Limiter{bucket: rate.NewLimiter(rate.Limit(perSecond), max(1, int(math.Floor(perSecond))))}
}

// MulticastShare is the part of each provider's rate kept for campaigns'
// multicasts while senders run beside them: a multicast reaches up to
// 500 friends, so a little goes a long way, and the senders keep the rest.
const MulticastShare = 0.05

// Split divides an account's rate between up to senders instances of the
// sender and up to fanouts instances of the campaigns' fan-out, which
// multicast: each sender's rate, and each fan-out's.
func Split(perSecond float64, senders, fanouts int) (sender, multicast float64) {
	multicast = perSecond * MulticastShare
	return (perSecond - multicast) / float64(max(1, senders)), multicast / float64(max(1, fanouts))
}

// Wait blocks until a request may go. A nil limiter never waits.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	return l.bucket.Wait(ctx)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retries sent inline, before the job goes back to SQS.
const (
	inlineAttempts = 3
	maxInlineWait  = 5 * time.Second // a longer Retry-After goes back to SQS instead
	backoffBase    = 200 * time.Millisecond
)

// Sleeper waits; tests replace it to see the waits without waiting.
type Sleeper func(context.Context, time.Duration) error

// WithRetries sends through a provider's limiter, retrying inline what is
// safe to retry (the provider did not take it, or LINE's retry key guards
// it) with exponential backoff and jitter, honouring Retry-After. What still
// fails, or asks for a longer wait, is returned for the queue to retry later.
func WithRetries(ctx context.Context, l *Limiter, sleepFn Sleeper, send func() (Receipt, error)) (Receipt, error) {
	if sleepFn == nil {
		sleepFn = sleep
	}
	var last error
	for attempt := 1; ; attempt++ {
		if err := l.Wait(ctx); err != nil {
			// The deadline came first: this attempt never left, so the
			// last failure (or a retryable one) says what happened.
			if last != nil {
				return Receipt{}, last
			}
			return Receipt{}, &Failure{Retryable: true, Reason: "not sent: " + err.Error()}
		}
		receipt, err := send()
		var f *Failure
		if err == nil || !errors.As(err, &f) || !f.Retryable || attempt == inlineAttempts {
			return receipt, err
		}
		last = err
		wait := backoffBase << (attempt - 1)
		wait += time.Duration(rand.Int64N(int64(wait))) // jitter: spread retries of a busy batch
		if f.RetryAfter > wait {
			wait = f.RetryAfter
		}
		if wait > maxInlineWait {
			return receipt, err
		}
		if sleepFn(ctx, wait) != nil {
			return receipt, err // the deadline came while waiting to retry
		}
	}
}
