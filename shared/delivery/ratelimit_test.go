package delivery_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daifuku/daifuku/shared/delivery"
)

func TestLimiterKeepsTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &delivery.Limiter{Rate: 10} // a burst of 10, then 10 per second
		start := time.Now()
		for range 30 {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		// 30 requests at 10/s with a burst of 10 take 2 seconds.
		if got := time.Since(start); got < 2*time.Second || got > 2100*time.Millisecond {
			t.Errorf("30 requests took %v at 10/s, want 2s", got)
		}
	})
}
