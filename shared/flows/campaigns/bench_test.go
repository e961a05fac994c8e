package campaigns_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/daifuku/daifuku/infra/seed"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
)

// BenchmarkNewsletterFanOut sends a newsletter to everyone in a generated
// ledger (DAIFUKU_BENCH_CUSTOMERS, 100,000 by default) in DynamoDB Local, to
// the capture server: the fan-out's own work (decide, record, multicast the
// LINE share, queue the email jobs). Run with `make bench-campaign`.
func BenchmarkNewsletterFanOut(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("DAIFUKU_BENCH_CUSTOMERS")); err == nil {
		n = v
	}
	r := testrig.New(b)
	ctx := context.Background()
	now := r.Clock.Now()
	cs := seed.Ledger(n, 1, now)
	for _, c := range cs {
		c.Rank = rank.Evaluate(r.Daily.Rules, c, now).String()
	}
	if err := r.Store.PutCustomers(ctx, cs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rep *campaigns.Report
	i := 0
	for b.Loop() {
		i++
		c := winter(now)
		c.ID = fmt.Sprintf("bench-%d", i)
		var err error
		if rep, err = r.Campaigns.Send(ctx, c, now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	lineMsgs := rep.Multicast + rep.Push
	b.ReportMetric(float64(rep.Email+lineMsgs)*float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	b.ReportMetric(float64(rep.LINERequests)/float64(max(lineMsgs, 1)), "LINE-requests/message")
	b.ReportMetric(float64(lineMsgs), "LINE-messages")
	b.ReportMetric(float64(rep.Email), "email-jobs")
	b.ReportMetric(float64(rep.ItemsRead), "items-read")
}
