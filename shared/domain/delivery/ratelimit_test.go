package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daifuku/daifuku/shared/domain/delivery"
)

func TestLimiterKeepsTheRate(t *testing.T) {
	tests := []struct {
		rate     float64
		requests int
		want     time.Duration
	}{
		{10, 30, 2 * time.Second},               // a burst of 10, then 10 a second
		{0.5, 3, 4 * time.Second},               // below one a second: one now, then one every 2 s
		{delivery.MinRate, 2, 60 * time.Second}, // the slowest rate served: one a minute
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/s", tt.rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := delivery.NewLimiter(tt.rate)
				start := time.Now()
				for range tt.requests {
					if err := l.Wait(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				if got := time.Since(start); got < tt.want || got > tt.want+100*time.Millisecond {
					t.Errorf("%d requests took %v at %v/s, want %v", tt.requests, got, tt.rate, tt.want)
				}
			})
		})
	}
}

func TestNoRateNoWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := delivery.NewLimiter(0)
		start := time.Now()
		for range 1000 {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 0 {
			t.Errorf("no limit waited %v", got)
		}
	})
}

func TestRatesTheLimiterCannotKeepAreRefused(t *testing.T) {
	for _, ok := range []string{"0.5", "2000", "0.0167"} {
		if _, err := delivery.ParsePolicy("delivery.yaml", []byte("rates: {line: "+ok+"}\n")); err != nil {
			t.Errorf("rate %s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"0", "-1", "0.001", ".nan", ".inf", "1e9"} {
		if _, err := delivery.ParsePolicy("delivery.yaml", []byte("rates: {line: "+bad+"}\n")); err == nil {
			t.Errorf("rate %s accepted", bad)
		}
	}
}

// A deadline that ends while waiting to retry leaves the provider's own
// failure, retryable; one that ends before any attempt is retryable too.
// Neither is mistaken for a message that can never be sent.
func TestWithRetriesKeepsTheFailureWhenTheDeadlineComes(t *testing.T) {
	failure := &delivery.Failure{Provider: "line", Retryable: true, Reason: "no response"}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := delivery.WithRetries(ctx, nil, func(context.Context, time.Duration) error {
		cancel()
		return context.Canceled
	}, func() (delivery.Receipt, error) {
		calls++
		return delivery.Receipt{}, failure
	})
	if err != failure || calls != 1 {
		t.Errorf("err %v after %d calls; want the provider's failure after 1", err, calls)
	}
	_, err = delivery.WithRetries(ctx, delivery.NewLimiter(1), nil, func() (delivery.Receipt, error) {
		t.Error("sent after the deadline")
		return delivery.Receipt{}, nil
	})
	var f *delivery.Failure
	if !errors.As(err, &f) || !f.Retryable {
		t.Errorf("err %v; want a retryable failure", err)
	}
}

// Instances that share an account's rate, each at its share with a full
// bucket, together send no more than the rate allows: a second's worth at
// once, then the rate.
func TestSharedLimitersKeepTheAccountsRate(t *testing.T) {
	for _, instances := range []int{1, 3, 4, 16} {
		t.Run(fmt.Sprint(instances), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const account = 10.0
				var sent atomic.Int64
				ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
				defer stop()
				done := make(chan struct{})
				for range instances {
					share, _ := delivery.Split(account, instances, 1)
					l := delivery.NewLimiter(share)
					go func() {
						defer func() { done <- struct{}{} }()
						for l.Wait(ctx) == nil {
							sent.Add(1)
						}
					}()
				}
				for range instances {
					<-done
				}
				// Within 5 s: at most a second's worth at once (or one each,
				// when there are more instances than that), then 5 s at the rate.
				if n := sent.Load(); n > max(int64(account), int64(instances))+5*int64(account) || n < 4*int64(account) {
					t.Errorf("%d instances sent %d in 5 s at an account rate of %v/s", instances, n, account)
				}
			})
		})
	}
}
