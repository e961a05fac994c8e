package delivery_test

import (
	"context"
	"errors"
	"fmt"
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
	for _, ok := range []string{"0", "0.5", "2000", "0.0167"} {
		if _, err := delivery.ParsePolicy("delivery.yaml", []byte("rates: {line: "+ok+"}\n")); err != nil {
			t.Errorf("rate %s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"-1", "0.001", ".nan", ".inf", "1e9"} {
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
