package campaigns_test

import (
	"context"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/domain/campaign"
)

// The hourly run finds due campaigns through the by-open index, never by a
// Scan: a sent campaign leaves the index (and is never sent again), one
// scheduled for later stays in it, and a defined one is known by its header.
func TestDueCampaignsAreFoundWithoutAScan(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	now := r.Clock.Now()
	later := winter(now)
	later.ID, later.SendAt = "spring", now.Add(30*24*time.Hour)
	for _, c := range []campaign.Campaign{winter(now), later} {
		if err := r.Store.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Campaigns.SendDue(ctx, now); err != nil { // winter goes (to nobody: no customers)
		t.Fatal(err)
	}
	r.SendQueued(t)
	if done, err := r.Campaigns.Complete(ctx, now); err != nil || len(done) != 1 {
		t.Fatalf("complete: %v %v", done, err)
	}

	counted, ops := testrig.Counting(r.DB)
	runner := *r.Campaigns
	runner.Ledger = dynamo.New(counted, r.Tables)
	open, states, err := runner.Ledger.Campaigns(ctx, "winter", "autumn")
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].ID != "spring" || states["winter"].Status != campaign.Sent || states["autumn"].Status != "" {
		t.Errorf("open %v, states %v; want spring open, winter sent, autumn never started", open, states)
	}
	reps, err := runner.SendDue(ctx, now.Add(time.Hour))
	if err != nil || len(reps) != 0 {
		t.Errorf("an hour later: %v %v; nothing is due", reps, err)
	}
	if ops.Of("Scan") != 0 || ops.Of("Query") == 0 {
		t.Errorf("operations %v: want queries, no Scan", ops.All())
	}
}
