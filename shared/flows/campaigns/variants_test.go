package campaigns_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
)

const (
	tplDefault = "newsletter/2026-winter-default"
	tplRoyal   = "newsletter/2026-winter-royal"
)

// split is a campaign whose audience draws between the two shipped
// newsletter templates by weight.
func split(now time.Time, a, b float64) campaign.Campaign {
	c := winter(now)
	c.Templates = nil
	c.Variants = []experiment.Variant{{Template: tplDefault, Weight: a}, {Template: tplRoyal, Weight: b}}
	return c
}

// Each customer draws a variant by weight, the same on every draw; each
// decision records it, so the report counts each variant on its own; and a
// LINE multicast carries one variant's content only.
func TestVariantsSplitTheAudienceStablyByWeight(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	ledger(t, r, 800)
	c := split(r.Clock.Now(), 70, 30)
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Campaigns.Send(ctx, c, r.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.SendQueued(t)
	got := map[string]int{}
	for _, id := range rep.Recipients {
		rec, err := r.Store.Message(ctx, message.CampaignKey(id, c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status == message.Skipped {
			continue
		}
		want := c.Design().Draw(id, c.Unit()).Template
		if rec.Variant != want || rec.Job.Template != want {
			t.Fatalf("%s: variant %q template %q; its draw is %q every time", id, rec.Variant, rec.Job.Template, want)
		}
		got[rec.Variant]++
	}
	n := float64(got[tplDefault] + got[tplRoyal])
	if share := float64(got[tplDefault]) / n; n != 1000 || math.Abs(share-0.7) > 0.05 {
		t.Errorf("%v of %v: want about 70%% / 30%% of 1,000 reachable customers", got, n)
	}
	multicasts := 0
	for _, req := range r.Capture.Requests("line") {
		var body struct {
			To       []string `json:"to"`
			Messages []struct {
				Type string `json:"type"`
			} `json:"messages"`
		}
		_ = json.Unmarshal(req.Body, &body)
		if len(body.To) == 0 {
			continue // a push: one customer
		}
		multicasts++
		want := map[string]bool{}
		for _, u := range body.To {
			var i int
			_, _ = fmt.Sscanf(u, "U%x", &i)
			want[c.Design().Draw(fmt.Sprintf("L%05d", i), c.Unit()).Template] = true
		}
		if len(want) != 1 {
			t.Errorf("a multicast of %d mixes variants %v", len(body.To), want)
		}
	}
	if multicasts < 3 || rep.Batches != multicasts {
		t.Errorf("%d multicasts (report: %d); want each variant's friends in batches of ≤500", multicasts, rep.Batches)
	}
	rows, _, err := r.Store.ReportRows(ctx, report.Month(r.Clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	byVariant := map[string]int64{}
	for key, n := range rows {
		if row, _ := report.ParseKey(key); row.Plan == c.Unit() {
			byVariant[row.Variant] += n.Sent
		}
	}
	if byVariant[tplDefault] != int64(got[tplDefault]) || byVariant[tplRoyal] != int64(got[tplRoyal]) {
		t.Errorf("report rows count %v sent per variant; want %v", byVariant, got)
	}
}

// mailAudience stores n customers who hear from the shop by email only.
func mailAudience(t *testing.T, r *testrig.Rig, n int) {
	t.Helper()
	var cs []*customer.Customer
	for i := range n {
		id := fmt.Sprintf("M%04d", i)
		cs = append(cs, &customer.Customer{ID: id, Email: strings.ToLower(id) + "@example.jp", Rank: "prospect",
			Consent: customer.Consent{Email: true}, SignedUpAt: r.Clock.Now().AddDate(0, -1, 0)})
	}
	if err := r.Store.PutCustomers(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
}

// clicks makes SendGrid report a click on the campaign's email of every
// customer of the test for whom clicks says so.
func clickSome(t *testing.T, r *testrig.Rig, c campaign.Campaign, ids []string, clicks func(variant string, i int) bool) {
	t.Helper()
	ctx := context.Background()
	var events []json.RawMessage
	seen := map[string]int{}
	for _, id := range ids {
		key := message.CampaignKey(id, c.ID)
		rec, err := r.Store.Message(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		i := seen[rec.Variant]
		seen[rec.Variant]++
		if rec.Status != message.Sent || !clicks(rec.Variant, i) {
			continue
		}
		ev, _ := json.Marshal(map[string]any{"sg_event_id": "click-" + id, "event": "click", "email": strings.ToLower(id) + "@example.jp",
			"timestamp": r.Clock.Now().Unix(), "message_key": string(key)})
		events = append(events, ev)
	}
	if _, err := r.Inbox.Accept(ctx, webhook.SendGrid, events); err != nil {
		t.Fatal(err)
	}
	if failed := r.ProcessWebhooks(t); failed > 0 {
		t.Fatalf("%d webhook batches failed", failed)
	}
}

// testFirst is a campaign that tests its two variants on half its audience.
func testFirst(now time.Time) campaign.Campaign {
	c := split(now, 50, 50)
	c.Test = &campaign.Test{Share: 0.5, After: 4 * time.Hour, WinnerBy: campaign.ByClicks}
	return c
}

// The test share gets the variants at send_at and nobody else is decided;
// the winner waits for the test's time, however often the hourly run comes;
// then a clear winner by clicks goes to the rest, and everyone has exactly
// one email.
func TestTestFirstSendsTheClearWinnerToTheRest(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	mailAudience(t, r, 400)
	c := testFirst(r.Clock.Now())
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	start := r.Clock.Now()
	reps, err := r.Campaigns.SendDue(ctx, start)
	if err != nil || len(reps) != 1 || reps[0].Wave != campaigns.WaveTest {
		t.Fatalf("test wave: %+v %v", reps, err)
	}
	test := reps[0].Recipients
	for i := range 400 {
		id := fmt.Sprintf("M%04d", i)
		_, err := r.Store.Message(ctx, message.CampaignKey(id, c.ID))
		if in := c.Test.Includes(id, c.Unit()); in != (err == nil) || (err != nil && !errors.Is(err, domain.ErrNotFound)) {
			t.Fatalf("%s: in the test share %v, decided: %v", id, in, err)
		}
	}
	if n := len(test); n < 160 || n > 240 {
		t.Errorf("%d in a 50%% test share of 400", n)
	}
	r.SendQueued(t)
	st, _ := r.Store.CampaignState(ctx, c.ID)
	if st.Status != campaign.Testing || !st.TestSentAt.Equal(start) || st.TestCounts["audience"] != len(test) {
		t.Fatalf("after the test wave: %+v", st)
	}
	if done, _ := r.Campaigns.Complete(ctx, r.Clock.Now()); len(done) != 0 {
		t.Error("a campaign whose rest waits for its winner was completed")
	}
	// The royal variant is clicked by 40% of its customers, the default by 5%.
	clickSome(t, r, c, test, func(v string, i int) bool {
		if v == tplRoyal {
			return i%5 < 2
		}
		return i%20 == 0
	})

	for range 3 { // the hourly runs before the test's time is up
		r.Clock.Advance(time.Hour)
		if reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil || len(reps) != 0 {
			t.Fatalf("%s after the test: %+v %v; want nothing before 4h", r.Clock.Now().Sub(start), reps, err)
		}
	}
	var busy *campaign.BusyError
	if _, err := r.Campaigns.Send(ctx, c, r.Clock.Now()); !errors.As(err, &busy) || !strings.Contains(err.Error(), "testing") {
		t.Errorf("a send by hand before the test's time: %v; want it refused", err)
	}

	r.Clock.Advance(time.Hour)
	reps, err = r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Wave != campaigns.WaveWinner {
		t.Fatalf("winner wave: %+v %v", reps, err)
	}
	w := reps[0].Winner
	if w == nil || w.Template != tplRoyal || !w.Clear || w.By != campaign.ByClicks {
		t.Fatalf("winner %+v; want the royal variant, clearly", w)
	}
	if reps[0].Earlier != len(test) || reps[0].Email != 400-len(test) {
		t.Errorf("winner wave %+v; want the %d of the test decided before, the other %d sent", reps[0], len(test), 400-len(test))
	}
	for i := range 400 {
		id := fmt.Sprintf("M%04d", i)
		if c.Test.Includes(id, c.Unit()) {
			continue
		}
		rec, err := r.Store.Message(ctx, message.CampaignKey(id, c.ID))
		if err != nil || rec.Variant != tplRoyal || rec.Job.Template != tplRoyal {
			t.Fatalf("%s of the rest: %+v %v; want the winner", id, rec, err)
		}
	}
	r.SendQueued(t)
	perAddress := map[string]int{}
	for _, req := range r.Capture.Requests("email") {
		var m struct {
			Personalizations []struct {
				To []struct {
					Email string `json:"email"`
				} `json:"to"`
			} `json:"personalizations"`
		}
		_ = json.Unmarshal(req.Body, &m)
		perAddress[m.Personalizations[0].To[0].Email]++
	}
	if len(perAddress) != 400 {
		t.Errorf("%d of 400 customers emailed", len(perAddress))
	}
	for a, n := range perAddress {
		if n != 1 {
			t.Errorf("%s got %d emails", a, n)
		}
	}
	st, _ = r.Store.CampaignState(ctx, c.ID)
	if st.Winner == nil || st.Winner.Template != tplRoyal {
		t.Errorf("the campaign keeps no winner: %+v", st)
	}
	if done, err := r.Campaigns.Complete(ctx, r.Clock.Now()); err != nil || len(done) != 1 {
		t.Errorf("complete after the rest went: %v %v", done, err)
	}
	if again, _ := r.Campaigns.SendDue(ctx, r.Clock.Now().Add(time.Hour)); len(again) != 0 {
		t.Error("a sent campaign ran again")
	}
}

// When the variants do about as well, the best so far still goes to the
// rest, and the campaign says plainly that no winner was clear.
func TestTestFirstWithoutAClearWinnerSendsTheBestAndSaysSo(t *testing.T) {
	t.Parallel()
	r, c, rep := testWaveSent(t, 200)
	ctx := context.Background()
	// 10% against 12.5%: too close to tell on about 50 each.
	clickSome(t, r, c, rep.Recipients, func(v string, i int) bool {
		if v == tplDefault {
			return i%8 == 0
		}
		return i%10 == 0
	})
	r.Clock.Advance(4 * time.Hour)
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Winner == nil {
		t.Fatal(reps, err)
	}
	w := reps[0].Winner
	if w.Clear || w.Template != tplDefault || !strings.Contains(w.Verdict(), "no clear winner (not significant)") || w.Low > 0 {
		t.Errorf("winner %+v, verdict %q; want the default sent as the best so far, not clearly", w, w.Verdict())
	}
	st, _ := r.Store.CampaignState(ctx, c.ID)
	if st.Winner == nil || st.Winner.Clear || st.Winner.Template != tplDefault || len(st.Winner.Results) != 2 || st.Winner.Results[0].Sent == 0 {
		t.Errorf("kept on the campaign: %+v", st.Winner)
	}
}

// A test is decided once: a run that takes over after the winner was kept
// (its predecessor failed before finishing) sends that winner, whatever the
// counts say by then, and nobody is decided twice.
func TestTestFirstDecidesTheWinnerOnce(t *testing.T) {
	t.Parallel()
	r, c, rep := testWaveSent(t, 120)
	ctx := context.Background()
	test := len(rep.Recipients)
	// A run kept a winner, then died holding the lease.
	r.Clock.Advance(4 * time.Hour)
	kept, err := r.Store.DecideWinner(ctx, c.ID, campaign.Winner{Template: tplRoyal, By: campaign.ByClicks, At: r.Clock.Now()})
	if err != nil || kept.Template != tplRoyal {
		t.Fatal(kept, err)
	}
	if again, err := r.Store.DecideWinner(ctx, c.ID, campaign.Winner{Template: tplDefault, By: campaign.ByClicks}); err != nil || again.Template != tplRoyal {
		t.Fatalf("a second decision: %+v %v; want the first kept", again, err)
	}
	if err := r.Store.LockCampaign(ctx, c.ID, "a run that died", r.Clock.Now(), r.Clock.Now().Add(campaigns.Lease), false, false); err != nil {
		t.Fatal(err)
	}
	if reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil || len(reps) != 1 || reps[0].Busy == nil {
		t.Fatalf("while the dead run's lease holds: %+v %v; want it named", reps, err)
	}
	r.Clock.Advance(campaigns.Lease)
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Winner == nil || reps[0].Winner.Template != tplRoyal {
		t.Fatalf("the run that took over: %+v %v", reps, err)
	}
	if reps[0].Earlier != test || reps[0].Email != 120-test {
		t.Errorf("%+v; want the %d of the test decided before and the rest once", reps[0], test)
	}
	// A third run (a redelivered schedule) finds nothing to do.
	r.SendQueued(t)
	if _, err := r.Campaigns.Resume(ctx, c, r.Clock.Now()); !errors.Is(err, campaign.ErrBusy) {
		t.Errorf("resuming a delivering campaign: %v", err)
	}
	if n := len(r.Capture.Requests("email")); n != 120 {
		t.Errorf("%d emails for 120 customers", n)
	}
}

// Early access keeps its promise in a test: the early ranks hear first,
// each with the variant they draw (they count in the test); at send_at the
// test share of everyone else follows, and the rest waits for the winner.
func TestTestFirstKeepsEarlyAccess(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	mailAudience(t, r, 40)
	royal := &customer.Customer{ID: "R0001", Email: "r0001@example.jp", Rank: "royal", Consent: customer.Consent{Email: true}}
	if err := r.Store.PutCustomers(ctx, []*customer.Customer{royal}); err != nil {
		t.Fatal(err)
	}
	c := testFirst(r.Clock.Now())
	c.SendAt = r.Clock.Now().Add(2 * time.Hour)
	c.Early = &campaign.Early{Ranks: []string{"royal"}, Hours: 24}
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Audience != 1 || reps[0].Wave != "" {
		t.Fatalf("early wave: %+v %v; want the royal customer only", reps, err)
	}
	rec, err := r.Store.Message(ctx, message.CampaignKey(royal.ID, c.ID))
	if err != nil || rec.Variant == "" || rec.Variant != c.Design().Draw(royal.ID, c.Unit()).Template {
		t.Fatalf("the royal customer's decision %+v %v; want their drawn variant", rec, err)
	}
	r.Clock.Advance(2 * time.Hour)
	reps, err = r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Wave != campaigns.WaveTest {
		t.Fatalf("test wave: %+v %v", reps, err)
	}
	inShare := 0
	for i := range 40 {
		if c.Test.Includes(fmt.Sprintf("M%04d", i), c.Unit()) {
			inShare++
		}
	}
	if st, _ := r.Store.CampaignState(ctx, c.ID); st.Status != campaign.Testing || reps[0].Email != inShare {
		t.Errorf("after the test wave: %s, %d emails; want testing, %d (the test share of the others)", st.Status, reps[0].Email, inShare)
	}
}

// testWaveSent is a test-first campaign to n email customers whose test
// wave went out: the rig, the campaign and that run's report.
func testWaveSent(t *testing.T, n int) (*testrig.Rig, campaign.Campaign, *campaigns.Report) {
	t.Helper()
	r := testrig.New(t)
	ctx := context.Background()
	mailAudience(t, r, n)
	c := testFirst(r.Clock.Now())
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 {
		t.Fatal(reps, err)
	}
	r.SendQueued(t)
	return r, c, reps[0]
}
