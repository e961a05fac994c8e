package dynamo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSummaryClaimLetsOneRunSend(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	stale := at.Add(-15 * time.Minute)

	// Two deliveries of the same schedule event at once: one claim wins.
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			ok, err := st.ClaimSummary(ctx, "2026-11", at, stale)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d claims won, want 1", won.Load())
	}
	if ok, _ := st.ClaimSummary(ctx, "2026-12", at, stale); !ok {
		t.Error("another month's summary is claimed by November's")
	}

	// A claim still sending long after its run's timeout: that run died, the next may send.
	later := at.Add(20 * time.Minute)
	if ok, err := st.ClaimSummary(ctx, "2026-11", later, later.Add(-15*time.Minute)); err != nil || !ok {
		t.Fatalf("a stale claim was not taken over: %v %v", ok, err)
	}
	// The first run, back from the dead, may not release the new claim.
	if err := st.ReleaseSummary(ctx, "2026-11", at); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.ClaimSummary(ctx, "2026-11", later, stale); ok {
		t.Error("an old run released the claim that took its place")
	}
	// Its own release gives the month back (the provider refused the email).
	if err := st.ReleaseSummary(ctx, "2026-11", later); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.ClaimSummary(ctx, "2026-11", later, stale); !ok {
		t.Fatal("a released claim could not be claimed again")
	}
	// Once sent (or maybe sent), never again, however old.
	for _, ambiguous := range []bool{false, true} {
		if err := st.SummarySent(ctx, "2026-11", later, ambiguous); err != nil {
			t.Fatal(err)
		}
		far := later.AddDate(1, 0, 0)
		if ok, _ := st.ClaimSummary(ctx, "2026-11", far, far); ok {
			t.Errorf("a summary marked sent (ambiguous %v) was claimed again", ambiguous)
		}
	}
	// The markers are not report rows.
	rows, _, err := st.ReportRows(ctx, "2026-11")
	if err != nil || len(rows) != 0 {
		t.Errorf("November's report reads %d rows (%v), want none", len(rows), err)
	}
}
