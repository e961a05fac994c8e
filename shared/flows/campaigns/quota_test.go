package campaigns_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// LINE refuses the multicast because the month's quota is used up. The
// campaign still finishes: LINE is paused, the batch's members go to the
// sender, which emails those who agreed to email and defers the rest until
// the month turns; a later run sends nothing again.
func TestQuotaRefusedMulticastFinishesTheCampaign(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	var lineCalls atomic.Int32
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, _ []byte) bool {
		if !strings.HasPrefix(req.URL.Path, "/v2/bot/message/") {
			return false
		}
		lineCalls.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"message":"You have reached your monthly limit."}`))
		return true
	})
	var cs []*customer.Customer
	for i := range 30 {
		c := &customer.Customer{ID: fmt.Sprintf("L%03d", i), LINEUserID: fmt.Sprintf("U%032x", i), Rank: "prospect",
			Consent: customer.Consent{LINE: true}, SignedUpAt: r.Clock.Now().AddDate(0, -1, 0)}
		if i < 10 {
			c.Email, c.Consent.Email = fmt.Sprintf("l%03d@example.jp", i), true
		}
		cs = append(cs, c)
	}
	if err := r.Store.PutCustomers(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if err := r.Store.CreateCampaign(ctx, winter(r.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %v, err %v; a quota refusal must not fail the campaign", reps, err)
	}
	if rep := reps[0]; rep.Handed != 30 || rep.Multicast != 0 {
		t.Errorf("report %+v; want all 30 handed to the sender", rep)
	}
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	status := map[string]int{}
	for _, c := range cs {
		rec, err := r.Store.Message(ctx, message.NewKey(message.Newsletter, c.ID, "campaign:winter"))
		if err != nil {
			t.Fatal(err)
		}
		status[string(rec.Status)+" "+string(rec.Channel)]++
	}
	if status["sent email"] != 10 || status["deferred line"] != 20 {
		t.Errorf("outcomes %v; want 10 sent by email, 20 deferred on LINE", status)
	}
	if n := lineCalls.Load(); n != 1 {
		t.Errorf("%d LINE requests; after the refused multicast LINE is asked nothing more", n)
	}
	if again, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil || len(again) != 0 {
		t.Errorf("the campaign ran again: %v %v", again, err)
	}
}
