package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// A send is counted once, whether the settle counts it in its own
// transaction or finds it counted before (and settles without counting).
func TestSettleCountsASendOnce(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, tokyo)
	decide := func(key message.Key) *message.Record {
		t.Helper()
		job := message.Job{Key: key, Kind: message.Newsletter, CustomerID: "C1", Rank: "new", QueuedAt: now}
		if _, err := s.CreateMessage(ctx, message.Record{Key: key, Kind: job.Kind, CustomerID: "C1", Rank: "new",
			Status: message.Queued, CreatedAt: now, UpdatedAt: now, Job: &job}, delivery.CapChange{}); err != nil {
			t.Fatal(err)
		}
		claimed, err := s.Claim(ctx, job, customer.LINE, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if claimed.ReportMonth == "" || claimed.ReportRow == "" {
			t.Fatalf("claimed %s says nowhere to count it: %+v", key, claimed)
		}
		return claimed
	}
	first, second := decide("newsletter|C1|a"), decide("newsletter|C1|b")
	sent := message.Outcome{Status: message.Sent, At: now, ProviderID: "p"}
	if err := s.Settle(ctx, first, sent); err != nil {
		t.Fatal(err)
	}
	// Counted before the settle (as when the provider's event came first).
	if err := s.CountOnce(ctx, second.Key, "sent", map[string]int64{"sent": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(ctx, second, sent); err != nil {
		t.Fatal(err)
	}
	// A settle that is repeated (a sender whose answer was lost) counts nothing more.
	if err := s.Settle(ctx, first, sent); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*message.Record{first, second} {
		if got, err := s.Message(ctx, m.Key); err != nil || got.Status != message.Sent {
			t.Errorf("%s: %+v %v, want sent", m.Key, got, err)
		}
	}
	rows, _, err := s.ReportRows(ctx, report.Month(now))
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[first.ReportRow].Sent; got != 2 {
		t.Errorf("sent counted %d times, want 2 (once each)", got)
	}
}
