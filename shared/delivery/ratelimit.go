package delivery

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Limiter keeps a steady request rate to one provider: a token bucket
// refilled at Rate per second, holding at most Rate tokens (one second's worth).
type Limiter struct {
	Rate  float64 // requests per second; 0 means no limit
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// Wait blocks until a request may go.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil || l.Rate <= 0 {
		return nil
	}
	for {
		l.mu.Lock()
		now := l.now()
		if l.last.IsZero() {
			l.tokens, l.last = l.Rate, now
		}
		l.tokens = min(l.Rate, l.tokens+now.Sub(l.last).Seconds()*l.Rate)
		l.last = now
		if l.tokens >= 1 {
			l.tokens--
			l.mu.Unlock()
			return nil
		}
		wait := time.Duration((1 - l.tokens) / l.Rate * float64(time.Second))
		l.mu.Unlock()
		if err := l.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Limiter) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	return sleep(ctx, d)
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
	for attempt := 1; ; attempt++ {
		if err := l.Wait(ctx); err != nil {
			return Receipt{}, err
		}
		receipt, err := send()
		var f *Failure
		if err == nil || !errors.As(err, &f) || !f.Retryable || attempt == inlineAttempts {
			return receipt, err
		}
		wait := backoffBase << (attempt - 1)
		wait += time.Duration(rand.Int64N(int64(wait))) // jitter: spread retries of a busy batch
		if f.RetryAfter > wait {
			wait = f.RetryAfter
		}
		if wait > maxInlineWait {
			return receipt, err
		}
		if err := sleepFn(ctx, wait); err != nil {
			return receipt, err
		}
	}
}
