package campaigns_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// A LINE friend who stopped the newsletter topic is left out of the
// multicast, recorded skipped with why, and takes none of the LINE quota.
func TestAFriendWhoStoppedTheNewsletterIsNotMulticast(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	ledger(t, r, 8)
	quiet := &customer.Customer{ID: "S0001", LINEUserID: fmt.Sprintf("U%032x", 999), Rank: "prospect",
		Consent: customer.Consent{LINE: true}, SignedUpAt: r.Clock.Now().AddDate(0, -1, 0)}
	quiet.SetTopic("newsletter", false, r.Clock.Now().AddDate(0, 0, -1), customer.ByLINEMenu, "test")
	if err := r.Store.SaveCustomer(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	if err := r.Store.CreateCampaign(ctx, winter(r.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %v, err %v", reps, err)
	}
	if rep := reps[0]; rep.Multicast != 8 || rep.Skipped != 2 {
		t.Errorf("report %+v; want the 8 other friends multicast, the unsubscribed and the stopped skipped", rep)
	}
	if n := recipients(t, r)[quiet.LINEUserID]; n != 0 {
		t.Errorf("the friend who stopped the newsletter got %d messages", n)
	}
	rec, err := r.Store.Message(ctx, message.CampaignKey("S0001", "winter"))
	if err != nil || rec.Status != message.Skipped || !strings.Contains(rec.Reason, "newsletter") {
		t.Errorf("record %+v %v; want skipped, naming the topic", rec, err)
	}
}
