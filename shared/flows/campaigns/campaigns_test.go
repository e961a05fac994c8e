package campaigns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

// ledger stores n LINE friends and n/4 email-only customers, all prospects.
func ledger(t *testing.T, r *testrig.Rig, n int) {
	t.Helper()
	var cs []*customer.Customer
	for i := range n {
		c := &customer.Customer{ID: fmt.Sprintf("L%05d", i), LINEUserID: fmt.Sprintf("U%032x", i), Rank: "prospect",
			Consent: customer.Consent{LINE: true}, SignedUpAt: r.Clock.Now().AddDate(0, -1, 0)}
		cs = append(cs, c)
	}
	for i := range n / 4 {
		cs = append(cs, &customer.Customer{ID: fmt.Sprintf("E%05d", i), Name: "見本", Email: fmt.Sprintf("e%05d@example.jp", i),
			Rank: "prospect", Consent: customer.Consent{Email: true}, SignedUpAt: r.Clock.Now().AddDate(0, -1, 0)})
	}
	cs = append(cs, &customer.Customer{ID: "X0001", Email: "gone@example.jp", Rank: "prospect",
		Consent: customer.Consent{Email: false, EmailStatus: customer.Unsubscribed}})
	if err := r.Store.PutCustomers(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
}

func winter(now time.Time) campaign.Campaign {
	return campaign.Campaign{ID: "winter", Title: "冬のお便り", SendAt: now.Add(-time.Minute),
		Audience:  campaign.Audience{All: true},
		Templates: map[string]string{"default": "newsletter/2026-winter-default"}}
}

// recipients counts, per LINE user, how many messages reached them.
func recipients(t *testing.T, r *testrig.Rig) map[string]int {
	got := map[string]int{}
	for _, req := range r.Capture.Requests("line") {
		var body struct {
			To json.RawMessage `json:"to"`
		}
		_ = json.Unmarshal(req.Body, &body)
		var many []string
		if json.Unmarshal(body.To, &many) != nil {
			var one string
			_ = json.Unmarshal(body.To, &one)
			many = []string{one}
		}
		for _, u := range many {
			got[u]++
		}
	}
	return got
}

func TestNewsletterMulticastsIdenticalLINEContent(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	specs := apispec.ForTest(t)
	ctx := context.Background()
	ledger(t, r, 1200)
	if err := r.Store.CreateCampaign(ctx, winter(r.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %v, err %v", reps, err)
	}
	rep := reps[0]
	if rep.Batches != 3 || rep.Multicast != 1200 || rep.Email != 300 || rep.Skipped != 1 {
		t.Errorf("report %+v; want 1,200 friends in 3 multicasts of ≤500, 300 emails, the unsubscribed skipped", rep)
	}
	for _, req := range r.Capture.Requests("line") {
		if err := specs.ValidateLineMulticast(req.Body); err != nil {
			t.Fatal(err)
		}
	}
	r.SendQueued(t)
	mails := r.Capture.Requests("email")
	if len(mails) != 300 {
		t.Fatalf("%d emails, want 300", len(mails))
	}
	var mail struct {
		Headers    map[string]string `json:"headers"`
		Categories []string          `json:"categories"`
	}
	_ = json.Unmarshal(mails[0].Body, &mail)
	if mail.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" || len(mail.Categories) != 2 || mail.Categories[0] != "newsletter" {
		t.Errorf("newsletter email headers %v categories %v", mail.Headers, mail.Categories)
	}
	rec, _ := r.Store.Message(ctx, message.NewKey(message.Newsletter, "L00042", "campaign:winter"))
	if rec.Status != message.Sent || rec.Plan != "campaign:winter" {
		t.Errorf("member record %+v", rec)
	}
	if again, _ := r.Campaigns.SendDue(ctx, r.Clock.Now()); len(again) != 0 {
		t.Error("a sent campaign was sent again")
	}
}

// A run dies half-way (LINE stops answering after the first batch, the second
// batch's answer is lost after LINE took it); the next run finishes the
// campaign: everyone gets exactly one copy.
func TestCrashedCampaignResumesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	ledger(t, r, 1200)
	c := winter(r.Clock.Now())
	var calls atomic.Int32
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, body []byte) bool {
		switch n := calls.Add(1); {
		case n == 1:
			return false // delivered
		case n == 2:
			r.Capture.SetFault(nil)
			// LINE takes it, but the answer is lost.
			r.Capture.ServeHTTP(discard{}, cloneRequest(req, body))
			r.Capture.SetFault(func(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			})
			w.WriteHeader(http.StatusGatewayTimeout)
			return true
		}
		return false
	})
	if _, err := r.Campaigns.Send(ctx, c, r.Clock.Now()); err == nil {
		t.Fatal("the first run should have failed half-way")
	}
	// The failed run said why and let its lease go: the next run takes over at once.
	st, err := r.Store.CampaignState(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != campaign.Sending || st.FailedRuns != 1 || !strings.Contains(st.LastError, "batch") {
		t.Errorf("state after the failed run: %+v", st)
	}
	r.Capture.SetFault(nil)
	r.Clock.Advance(time.Minute)
	rep, err := r.Campaigns.Send(ctx, c, r.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := recipients(t, r)
	if len(got) != 1200 {
		t.Errorf("%d of 1,200 friends reached", len(got))
	}
	for u, n := range got {
		if n != 1 {
			t.Errorf("%s got %d copies", u, n)
		}
	}
	if rep.Earlier == 0 {
		t.Error("the resumed run decided everyone again")
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
