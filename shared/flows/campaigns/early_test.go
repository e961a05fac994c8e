package campaigns_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// Royal and semi-royal customers hear of a campaign a day before everyone
// else, as their welcome promised; at send time everyone else does, and
// nobody hears twice.
func TestEarlyAccessGoesToItsRanksFirst(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	mail := func(id, rank string) *customer.Customer {
		return &customer.Customer{ID: id, Email: id + "@example.jp", Rank: rank, Consent: customer.Consent{Email: true}}
	}
	if err := r.Store.PutCustomers(ctx, []*customer.Customer{
		mail("R1", "royal"), mail("S1", "semi-royal"), mail("N1", "new"), mail("L1", "royal:lapsed"),
	}); err != nil {
		t.Fatal(err)
	}
	c := winter(r.Clock.Now())
	c.SendAt = r.Clock.Now().Add(10 * time.Hour)
	c.Early = &campaign.Early{Ranks: []string{"royal", "semi-royal"}, Hours: 24}
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	decided := func(id string) bool {
		_, err := r.Store.Message(ctx, message.NewKey(message.Newsletter, id, "campaign:winter"))
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || !slices.Equal(reps[0].Early, []string{"royal", "semi-royal"}) || reps[0].Audience != 2 {
		t.Fatalf("early wave: %+v %v; want royal and semi-royal only", reps, err)
	}
	r.SendQueued(t)
	if !decided("R1") || !decided("S1") || decided("N1") || decided("L1") {
		t.Errorf("early wave reached R1 %v S1 %v N1 %v L1 %v; want only the active royal and semi-royal",
			decided("R1"), decided("S1"), decided("N1"), decided("L1"))
	}
	if again, _ := r.Campaigns.SendDue(ctx, r.Clock.Now().Add(time.Hour)); len(again) != 0 {
		t.Errorf("the early wave ran twice: %+v", again)
	}

	r.Clock.Advance(10 * time.Hour)
	reps, err = r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Early != nil || reps[0].Earlier != 2 || reps[0].Email != 2 {
		t.Fatalf("main wave: %+v %v; want everyone, the early two decided before", reps, err)
	}
	r.SendQueued(t)
	if n := len(r.Capture.Requests("email")); n != 4 {
		t.Errorf("%d emails, want one each for four customers", n)
	}
	if again, _ := r.Campaigns.SendDue(ctx, r.Clock.Now().Add(time.Hour)); len(again) != 0 {
		t.Error("a sent campaign ran again")
	}
}
