package sending_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// sleeps records the waits the sender asks for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

// failFirst answers the first n provider requests with status and headers.
func failFirst(r *testrig.Rig, n int32, status int, header map[string]string) *atomic.Int32 {
	var calls atomic.Int32
	r.Capture.SetFault(func(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
		if calls.Add(1) > n {
			return false
		}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"message":"busy"}`))
		return true
	})
	return &calls
}

func TestRateLimitedSendHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	var sl sleeps
	r.Sender.Sleep = sl.sleep
	calls := failFirst(r, 1, http.StatusTooManyRequests, map[string]string{"Retry-After": "2"})
	key := seed(t, r, lineCustomer("C1"), 0, 3800)
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("a 429 with a short Retry-After is retried inline, not reported: %d failures", failed)
	}
	if calls.Load() != 2 || len(sl.d) != 1 || sl.d[0] < 2*time.Second {
		t.Errorf("%d requests, waits %v; want one wait of at least Retry-After (2s) between two requests", calls.Load(), sl.d)
	}
	if rec := record(t, r, key); rec.Status != message.Sent || len(r.Capture.Requests("line")) != 1 {
		t.Errorf("record %s, %d delivered; want sent once", rec.Status, len(r.Capture.Requests("line")))
	}
}

func TestServerErrorsBackOffThenGoBackToSQS(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	var sl sleeps
	r.Sender.Sleep = sl.sleep
	calls := failFirst(r, 100, http.StatusServiceUnavailable, nil)
	key := seed(t, r, emailCustomer("C1"), 0, 3800)
	if failed := r.SendQueued(t); failed != 1 {
		t.Fatalf("after the inline retries the job goes back to SQS: %d failures", failed)
	}
	if calls.Load() != 3 || len(sl.d) != 2 || sl.d[1] <= sl.d[0]/2 {
		t.Errorf("%d requests, waits %v; want 3 attempts with growing backoff", calls.Load(), sl.d)
	}
	if rec := record(t, r, key); rec.Status != message.Retry {
		t.Errorf("status %s, want retry", rec.Status)
	}
}

func TestLongRetryAfterGoesBackToSQS(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	var sl sleeps
	r.Sender.Sleep = sl.sleep
	calls := failFirst(r, 1, http.StatusTooManyRequests, map[string]string{"Retry-After": "120"})
	seed(t, r, lineCustomer("C1"), 0, 3800)
	if failed := r.SendQueued(t); failed != 1 || calls.Load() != 1 || len(sl.d) != 0 {
		t.Errorf("failures %d, requests %d, waits %v; a 2-minute Retry-After is not slept through inline", failed, calls.Load(), sl.d)
	}
}
