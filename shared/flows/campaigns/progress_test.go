package campaigns_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
)

// A campaign is sent only once every message settled; until then it shows
// its progress by status and channel.
func TestACampaignIsSentWhenEveryMessageSettled(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	ledger(t, r, 40) // 40 LINE friends (multicast), 10 by email, 1 unsubscribed
	if err := r.Store.CreateCampaign(ctx, winter(r.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	p, err := r.Campaigns.Progress(ctx, "winter")
	if err != nil {
		t.Fatal(err)
	}
	if p.State.Status != campaign.Delivering || p.Decided() != 51 || p.InFlight() != 10 || p.Messages[message.Sent]["line"] != 40 {
		t.Fatalf("after the fan-out: %s, %v; want delivering, the 10 emails in flight", p.State.Status, p.Messages)
	}
	if done, _ := r.Campaigns.Complete(ctx, r.Clock.Now()); len(done) != 0 {
		t.Fatal("complete with emails still queued")
	}
	r.SendQueued(t)
	done, err := r.Campaigns.Complete(ctx, r.Clock.Now())
	if err != nil || len(done) != 1 || done[0].Messages[message.Sent]["email"] != 10 || done[0].Messages[message.Skipped]["-"] != 1 {
		t.Fatalf("complete: %+v %v", done, err)
	}
	if st, _ := r.Store.CampaignState(ctx, "winter"); st.Status != campaign.Sent || st.FinalCounts["sent/email"] != 10 {
		t.Errorf("state %+v", st)
	}
}

// A rerun during another run's lease says who holds it and until when;
// resume takes it over and finishes it, nobody getting a second copy.
func TestALeasedCampaignIsNamedAndCanBeResumed(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	ledger(t, r, 8)
	c := winter(r.Clock.Now())
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	// Another run took the lease and died.
	if err := r.Store.LockCampaign(ctx, c.ID, "host-a (process 42)", r.Clock.Now(), r.Clock.Now().Add(campaigns.Lease), false, false); err != nil {
		t.Fatal(err)
	}
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now().Add(time.Minute))
	if err != nil || len(reps) != 1 || reps[0].Busy == nil || !strings.Contains(reps[0].Busy.Error(), "host-a (process 42)") ||
		!errors.Is(reps[0].Busy, campaign.ErrBusy) {
		t.Fatalf("reports %+v %v; want the campaign named with its holder", reps, err)
	}
	rep, err := r.Campaigns.Resume(ctx, c, r.Clock.Now().Add(time.Minute))
	if err != nil || rep.Audience != 11 {
		t.Fatalf("resume: %+v %v", rep, err)
	}
	r.SendQueued(t)
	for u, n := range recipients(t, r) {
		if n != 1 {
			t.Errorf("%s got %d copies", u, n)
		}
	}
	if done, _ := r.Campaigns.Complete(ctx, r.Clock.Now()); len(done) != 1 {
		t.Error("the resumed campaign did not complete")
	}
}

// A campaign's holdout: a stable share of its audience is recorded held
// out and never sent; the rest are multicast.
func TestACampaignHoldsOutAShareOfItsAudience(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	var cs []*customer.Customer
	for i := range 60 {
		cs = append(cs, &customer.Customer{ID: fmt.Sprintf("H%02d", i), LINEUserID: fmt.Sprintf("U%032x", i), Rank: "prospect",
			Consent: customer.Consent{LINE: true}})
	}
	if err := r.Store.PutCustomers(ctx, cs); err != nil {
		t.Fatal(err)
	}
	c := campaign.Campaign{ID: "held", SendAt: r.Clock.Now(), Audience: campaign.Audience{All: true}, Holdout: 0.25,
		Templates: map[string]string{"default": "newsletter/2026-winter-default"}}
	if err := c.Validate(campaign.Known{}); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Campaigns.Send(ctx, c, r.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.HeldOut < 5 || rep.HeldOut > 25 || rep.HeldOut+rep.Multicast+rep.Push != 60 {
		t.Errorf("held out %d, multicast %d, pushed %d of 60: %+v", rep.HeldOut, rep.Multicast, rep.Push, rep)
	}
	rec, err := r.Store.Message(ctx, message.CampaignKey(cs[0].ID, "held"))
	if err != nil {
		t.Fatal(err)
	}
	if held := (experiment.Design{Holdout: 0.25}).Draw(cs[0].ID, message.CampaignPlan("held")).HeldOut; held != (rec.Status == message.HeldOut) {
		t.Errorf("%s: %s, drawn held out %v", cs[0].ID, rec.Status, held)
	}
	if err := (&campaign.Campaign{ID: "all", SendAt: r.Clock.Now(), Audience: campaign.Audience{All: true}, Holdout: 1,
		Templates: map[string]string{"default": "newsletter/2026-winter-default"}}).Validate(campaign.Known{}); err == nil {
		t.Error("a 100% holdout was accepted")
	}
}
