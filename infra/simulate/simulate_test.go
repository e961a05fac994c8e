package simulate_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/infra/simulate"
	"github.com/daifuku/daifuku/shared/domain/report"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

// shop simulates a small shop and returns its months' reports.
func shop(t testing.TB, o simulate.Options) []*report.Report {
	t.Helper()
	ctx := context.Background()
	o.End = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	env, res, err := simulate.Shop(ctx, local.Options{Dir: t.TempDir(), DynamoDB: dynamolocal.TestEndpoint(t),
		Prefix: fmt.Sprintf("sim%d-%d-", o.Seed, time.Now().UnixNano()), Visibility: -1, Log: slog.New(slog.DiscardHandler)}, o)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	var reps []*report.Report
	for _, m := range res.Months {
		rep, err := env.Report(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
	}
	return reps
}

// A small shop, one month: every rank's step is measured against its
// holdout, ranks move, and the weeks add up to the rows.
func TestASimulatedMonthFillsTheReport(t *testing.T) {
	reps := shop(t, simulate.Options{Customers: 300, Months: 1, Effect: 0.2, Seed: 7})
	if len(reps) != 1 || reps[0].Month != "2026-11" {
		t.Fatalf("months %v", reps)
	}
	rep := reps[0]
	measured, treated, held := 0, int64(0), int64(0)
	for _, l := range rep.Rows {
		if l.Lift != nil {
			measured++
		}
		treated += l.Sent
		held += l.HeldOut
	}
	if measured < 3 || held == 0 || treated < 4*held/2 {
		t.Errorf("%d rows measured, %d sent, %d held out: %+v", measured, treated, held, rep.Rows)
	}
	var weekSent, weekHeld int64
	for _, w := range rep.Weeks {
		weekSent += w.Sent
		weekHeld += w.HeldOut
	}
	if weekSent != treated || weekHeld != held {
		t.Errorf("weeks count %d sent, %d held out; rows %d, %d", weekSent, weekHeld, treated, held)
	}
	if len(rep.Moves) == 0 {
		t.Errorf("no rank moved in a month of orders")
	}
}
