package daily_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/daifuku/daifuku/infra/seed"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

// BenchmarkDailyPlan is the morning planning pass over a generated ledger
// (DAIFUKU_BENCH_CUSTOMERS, 100,000 by default) in DynamoDB Local: select
// today's customers through the indexes, re-rank, decide plan steps and
// birthdays, apply the cap. Dry, so every iteration plans the same day.
// Run with `make bench-daily`.
func BenchmarkDailyPlan(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("DAIFUKU_BENCH_CUSTOMERS")); err == nil {
		n = v
	}
	r := testrig.New(b)
	ctx := context.Background()
	now := morning("2026-12-24")
	r.Clock.Set(now)
	cs := seed.Ledger(n, 1, now.AddDate(0, 0, -1))
	for _, c := range cs {
		c.Rank = rank.Evaluate(r.Daily.Rules, c, now.AddDate(0, 0, -1)).String()
		c.RankSince = c.SignedUpAt
		c.NextDue = r.Daily.Plans.NextVisit(r.Daily.Rules, c, now.AddDate(0, 0, -1))
	}
	if err := r.Store.PutCustomers(ctx, cs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var customers, read, decisions int
	for b.Loop() {
		rp, err := r.Daily.Run(ctx, now, true)
		if err != nil {
			b.Fatal(err)
		}
		customers, read, decisions = rp.Customers, rp.ItemsRead, len(rp.Decisions)
	}
	b.ReportMetric(float64(customers)*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
	b.ReportMetric(float64(customers), "customers-due")
	b.ReportMetric(float64(read), "items-read")
	b.ReportMetric(float64(decisions), "messages-decided")
	b.ReportMetric(float64(n), "ledger-size")
}
