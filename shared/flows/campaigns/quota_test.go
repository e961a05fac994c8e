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
	"github.com/daifuku/daifuku/shared/domain/delivery"
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

// A newsletter that would not fit in what is left of the month's LINE
// quota: the highest ranks get LINE first, and the rest go by email where
// they agreed to it (line_quota: email) or wait for next month; with
// line_quota: defer, every LINE message waits. LINE never gets more than
// is left.
func TestACampaignKeepsWithinTheMonthsLINEQuota(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		policy                   delivery.WhenShort
		line, email, held, quota int
		shard                    int // customers a shard, through the fan-out queue (0: decided by the run)
	}{
		{delivery.ByEmail, 15, 10, 5, 15, 0},
		{delivery.ByRank, 15, 0, 15, 15, 0},
		{delivery.NextMonth, 0, 0, 30, 30, 0},
		// Eight shards of four: the boundary rank's allowance is shared out among them.
		{delivery.ByEmail, 15, 10, 5, 15, 4},
		{delivery.ByRank, 15, 0, 15, 15, 4},
	} {
		t.Run(fmt.Sprintf("%s/%d", tt.policy, tt.shard), func(t *testing.T) {
			t.Parallel()
			r := testrig.New(t)
			if tt.shard > 0 {
				sharded(r, tt.shard, 3)
			}
			ctx := context.Background()
			r.Capture.SetQuota(100, 85) // 15 left this month
			r.Campaigns.Policy.LINEQuota = tt.policy
			var cs []*customer.Customer
			for i := range 30 {
				c := &customer.Customer{ID: fmt.Sprintf("Q%03d", i), LINEUserID: fmt.Sprintf("U%032x", i), Rank: "prospect",
					Consent: customer.Consent{LINE: true}, SignedUpAt: r.Clock.Now().AddDate(0, -1, 0)}
				switch {
				case i >= 20: // the royals sort last by id, first by rank
					c.Rank = "royal"
				case i >= 10:
					c.Email, c.Consent.Email = fmt.Sprintf("q%03d@example.jp", i), true
				}
				cs = append(cs, c)
			}
			if err := r.Store.PutCustomers(ctx, cs); err != nil {
				t.Fatal(err)
			}
			if err := r.Store.CreateCampaign(ctx, winter(r.Clock.Now())); err != nil {
				t.Fatal(err)
			}
			fit, err := r.Campaigns.QuotaFit(ctx, winter(r.Clock.Now()), r.Clock.Now())
			if err != nil || fit == nil || fit.LINE != 30 || fit.Over != tt.quota || fit.Quota.Left() != 15 {
				t.Fatalf("before: %+v %v; want 30 by LINE, %d over", fit, err, tt.quota)
			}
			reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
			if err != nil || len(reps) != 1 {
				t.Fatalf("%v %v", reps, err)
			}
			byEmail, held := reps[0].QuotaEmail, reps[0].QuotaHeld
			if tt.shard > 0 {
				fanOutAll(t, r, true)
				st, err := r.Store.CampaignState(ctx, "winter")
				if err != nil || st.Fan.Total < 8 {
					t.Fatalf("%d shards, %v", st.Fan.Total, err)
				}
				byEmail, held = st.Fan.Counts["quota_email"], st.Fan.Counts["quota_held"]
			}
			if byEmail != tt.email || held != tt.held {
				t.Errorf("report: %d by email, %d held; want %d, %d", byEmail, held, tt.email, tt.held)
			}
			r.SendQueued(t)
			got := map[string]int{}
			for _, c := range cs {
				rec, err := r.Store.Message(ctx, message.NewKey(message.Newsletter, c.ID, "campaign:winter"))
				if err != nil {
					t.Fatal(err)
				}
				got[string(rec.Status)+" "+string(rec.Channel)]++
				if c.Rank == "royal" && tt.policy != delivery.NextMonth && rec.Channel != customer.LINE {
					t.Errorf("royal %s went by %s: the highest ranks come first", c.ID, rec.Channel)
				}
				if rec.Status == message.Deferred && (!rec.NotBefore.Equal(delivery.QuotaResets(r.Clock.Now())) || !strings.Contains(rec.Reason, "next month")) {
					t.Errorf("%s held until %s (%s)", c.ID, rec.NotBefore, rec.Reason)
				}
			}
			if got["sent line"] != tt.line || got["sent email"] != tt.email || got["deferred line"] != tt.held {
				t.Errorf("outcomes %v; want %d by LINE, %d by email, %d held", got, tt.line, tt.email, tt.held)
			}
			if q, err := r.Deps.LINE.Quota(ctx); err != nil || q.Used > q.Limit {
				t.Errorf("LINE used %d of %d (%v)", q.Used, q.Limit, err)
			}
		})
	}
}
