package campaigns_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
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

// A tag audience is read through the tag index, never a Scan, and follows
// the customers' tags as imports change them.
func TestATagAudienceIsReadThroughItsIndex(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	var cs []*customer.Customer
	for i := range 40 {
		c := &customer.Customer{ID: fmt.Sprintf("T%03d", i), Email: fmt.Sprintf("t%03d@example.jp", i), Rank: "new",
			Consent: customer.Consent{Email: true}, SignedUpAt: r.Clock.Now().AddDate(0, -1, 0)}
		if i < 10 {
			c.Tags = []string{"vip", "pottery"}
		} else if i < 15 {
			c.Tags = []string{"pottery"}
		}
		cs = append(cs, c)
	}
	if err := r.Store.PutCustomers(ctx, cs); err != nil {
		t.Fatal(err)
	}
	// A spreadsheet import: T000 is no longer vip, T020 becomes one.
	for id, tags := range map[string][]string{"T000": {"pottery"}, "T020": {"vip"}} {
		if _, err := r.Intake.ImportCustomer(ctx, &customer.Customer{ID: id, Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	vip := winter(r.Clock.Now())
	vip.ID, vip.Audience = "vip-evening", campaign.Audience{Tags: []string{"vip"}}
	if err := r.Store.CreateCampaign(ctx, vip); err != nil {
		t.Fatal(err)
	}
	counted, ops := testrig.Counting(r.DB)
	runner := *r.Campaigns
	runner.Ledger = dynamo.New(counted, r.Tables)
	reps, err := runner.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 {
		t.Fatalf("%v %v", reps, err)
	}
	got := slices.Clone(reps[0].Recipients)
	slices.Sort(got)
	want := []string{"T001", "T002", "T003", "T004", "T005", "T006", "T007", "T008", "T009", "T020"}
	if !slices.Equal(got, want) {
		t.Errorf("recipients %v, want %v", got, want)
	}
	if ops.Of("Scan") != 0 || reps[0].ItemsRead > 2*len(want)+1 {
		t.Errorf("operations %v, %d items read for %d customers: want no Scan", ops.All(), reps[0].ItemsRead, len(want))
	}
}
