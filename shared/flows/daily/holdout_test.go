package daily_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// welcomeWith runs the shipped plans with lines added to the prospect
// welcome step (a holdout, variants).
func welcomeWith(t *testing.T, r *testrig.Rig, lines string) {
	t.Helper()
	src, err := os.ReadFile("../../../templates/plans.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const step = "      template: step/prospect-welcome\n      channel: line\n"
	if !strings.Contains(string(src), step) {
		t.Fatal("templates/plans.yaml has no prospect welcome step to test")
	}
	tested := strings.Replace(string(src), step, step+lines, 1)
	if r.Daily.Plans, err = plan.Parse("plans.yaml", []byte(tested), plan.Known{Template: r.Content.Templates.HasDir}); err != nil {
		t.Fatal(err)
	}
}

// A step with a holdout and two variants: a stable share of its customers
// is recorded held out and never sent, the rest get one variant each, and a
// second run of the day decides nothing again.
func TestAStepHoldsOutAShareAndSplitsTheRestBetweenVariants(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	welcomeWith(t, r, "      holdout: 20%\n      variants:\n"+
		"        - {template: step/prospect-welcome, weight: 50}\n        - {template: step/prospect-stories, weight: 50}\n")
	r.Clock.Set(morning("2026-12-01"))
	const n = 200
	for i := range n {
		c := &customer.Customer{ID: fmt.Sprintf("P%03d", i), LINEUserID: fmt.Sprintf("U%032x", i), Consent: customer.Consent{LINE: true},
			SignedUpAt: morning("2026-12-01").Add(-time.Hour)}
		put(t, r, c)
	}
	rep, err := r.Daily.Run(ctx, r.Clock.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	held, queued := 0, 0
	variants := map[string]int{}
	for _, d := range rep.Decisions {
		rec, err := r.Store.Message(ctx, d.Key)
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Status {
		case message.HeldOut:
			held++
			if rec.Variant != "" {
				t.Errorf("%s held out with a variant", d.Key)
			}
		case message.Queued:
			queued++
			variants[rec.Variant]++
		}
	}
	if held < 25 || held > 55 || held+queued != n {
		t.Errorf("%d held out, %d queued of %d; want about 20%% held out", held, queued, n)
	}
	if variants["step/prospect-welcome"] < 60 || variants["step/prospect-stories"] < 60 {
		t.Errorf("variants %v; want about half each", variants)
	}
	if r.Queue.Len() != queued {
		t.Errorf("%d jobs queued for %d messages to send", r.Queue.Len(), queued)
	}
	if again, err := r.Daily.Run(ctx, r.Clock.Now(), false); err != nil || len(again.Decisions) != 0 {
		t.Errorf("a second run decided %d again (%v)", len(again.Decisions), err)
	}
}

// The global control group hears nothing but thank-yous: its customers'
// step decisions are recorded held out, always for the same customers.
func TestTheGlobalControlGroupHearsNothing(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Daily.Policy.ControlGroup = 0.3
	r.Clock.Set(morning("2026-12-01"))
	const n = 100
	for i := range n {
		put(t, r, &customer.Customer{ID: fmt.Sprintf("G%03d", i), LINEUserID: fmt.Sprintf("U%032x", i), Consent: customer.Consent{LINE: true},
			SignedUpAt: morning("2026-12-01").Add(-time.Hour)})
	}
	rep, err := r.Daily.Run(ctx, r.Clock.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, d := range rep.Decisions {
		in := r.Daily.Policy.InControlGroup(d.CustomerID)
		if (d.Status == message.HeldOut) != in {
			t.Errorf("%s: %s, in the control group %v", d.CustomerID, d.Status, in)
		}
		if in {
			held++
		}
	}
	if held < 15 || held > 45 || len(rep.Decisions) != n {
		t.Errorf("%d of %d decisions in the control group; want about 30%%", held, len(rep.Decisions))
	}
	if r.Queue.Len() != n-held {
		t.Errorf("%d jobs queued, want %d", r.Queue.Len(), n-held)
	}
}

// The report's counters, kept as things happen: each decision in its row
// (held out or not), each send once, each repurchase once per message, and
// a repeated order or event counts nothing twice.
func TestTheReportCountsAsThingsHappenAndOnlyOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	welcomeWith(t, r, "      holdout: 50%\n")
	// The welcome's words as published: its folder's newest file is version 3.
	r.Daily.ContentFiles = map[string]int{"step/prospect-welcome/line.txt.liquid": 3, "step/prospect-welcome/email.html.liquid": 2,
		"step/prospect-tips/line.txt.liquid": 9}
	r.Clock.Set(morning("2026-12-01"))
	for i := range 40 {
		put(t, r, &customer.Customer{ID: fmt.Sprintf("R%02d", i), LINEUserID: fmt.Sprintf("U%032x", i), Consent: customer.Consent{LINE: true},
			SignedUpAt: morning("2026-12-01").Add(-time.Hour)})
	}
	rep, err := r.Daily.Run(ctx, r.Clock.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	r.SendQueued(t)
	held, treated := "", ""
	for _, d := range rep.Decisions {
		if d.Status == message.HeldOut && held == "" {
			held = d.CustomerID
		}
		if d.Status == message.Queued && treated == "" {
			treated = d.CustomerID
		}
	}
	r.Clock.Advance(48 * time.Hour)
	for i, o := range []customer.Order{
		{ID: "O-T1", CustomerID: treated, Total: 4000}, {ID: "O-T2", CustomerID: treated, Total: 6000}, // a second order: no second repurchase
		{ID: "O-H1", CustomerID: held, Total: 3000}, {ID: "O-H1", CustomerID: held, Total: 3000}, // a redelivered order
	} {
		o.OrderedAt = r.Clock.Now().Add(time.Duration(i) * time.Minute)
		if _, err := r.Intake.RecordOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	rows, read, err := r.Store.ReportRows(ctx, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	var c report.Counters
	for k, v := range rows {
		if strings.Contains(k, "|welcome|") {
			c = v
			if row, err := report.ParseKey(k); err != nil || row.TemplateVersion != 3 {
				t.Errorf("welcome row %q: template version %+v %v, want 3", k, row, err)
			}
		}
	}
	heldN := 0
	for _, d := range rep.Decisions {
		if d.Status == message.HeldOut {
			heldN++
		}
	}
	want := report.Counters{Decided: 40, HeldOut: int64(heldN), Sent: int64(40 - heldN), TreatedRepurchased: 1, TreatedRevenue: 4000,
		HeldRepurchased: 1, HeldRevenue: 3000, TreatedRevenueSq: 4000 * 4000, HeldRevenueSq: 3000 * 3000,
		TreatedUp: 1, HeldUp: 1} // the first order moves a prospect up, once
	if c != want {
		t.Errorf("welcome row %+v, want %+v", c, want)
	}
	// The week (Monday 30 November, in Japan) adds up the same decisions,
	// and the thank-yous the orders brought; the matrix has both moves.
	rep2, err := report.Build("2026-12", rows, read)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Weeks) != 1 || rep2.Weeks[0].Week != "2026-11-30" || rep2.Weeks[0].HeldOut != int64(heldN) ||
		rep2.Weeks[0].Decided != 40+3 || rep2.Weeks[0].TreatedRepurchased != 1 {
		t.Errorf("weeks %+v", rep2.Weeks)
	}
	if len(rep2.Moves) != 1 || rep2.Moves[0] != (report.Move{From: "prospect", To: "new", N: 2}) {
		t.Errorf("moves %+v", rep2.Moves)
	}
	if read != len(rows) {
		t.Errorf("%d items read for %d rows", read, len(rows))
	}
}

// A lapse counts as a move down: in the month's matrix, and for each
// message within its window before it, on the side the customer was on.
func TestALapseCountsAsAMoveDownForTheMessagesBeforeIt(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	now := morning("2026-12-01")
	r.Clock.Set(now)
	bought := now.AddDate(0, 0, -92) // new customers lapse after 90 whole days: due this morning
	c := lineFriend("L1")
	c.Rank, c.SignedUpAt = "new", bought.Add(-time.Hour)
	c.Purchases = customer.Purchases{Count: 1, TotalSpend: 5000, First: bought, Last: bought}
	put(t, r, c)
	sentAt := now.AddDate(0, 0, -10)
	for _, m := range []message.Record{
		{Key: message.NewKey(message.Step, c.ID, "sent"), Step: "next", Status: message.Sent, SentAt: sentAt},
		{Key: message.NewKey(message.Step, c.ID, "held"), Step: "care", Status: message.HeldOut},
		{Key: message.NewKey(message.Step, c.ID, "old"), Step: "arrival", Status: message.Sent, SentAt: now.AddDate(0, 0, -40)},
	} {
		m.Kind, m.CustomerID, m.Rank, m.Plan, m.PlanVersion, m.CreatedAt, m.UpdatedAt = message.Step, c.ID, "new", "new", 2, sentAt, sentAt
		if m.Step == "arrival" {
			m.CreatedAt = m.SentAt
		}
		if _, err := r.Store.CreateMessage(ctx, m, delivery.CapChange{}); err != nil {
			t.Fatal(err)
		}
		if m.Status == message.Sent {
			if err := r.Store.CountOnce(ctx, m.Key, "sent", map[string]int64{"sent": 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := r.Daily.Run(ctx, now, false)
	if err != nil || rep.Lapsed != 1 {
		t.Fatalf("run: %+v %v", rep, err)
	}
	got := map[string][2]int64{}
	for _, month := range []string{"2026-10", "2026-11"} {
		rows, _, err := r.Store.ReportRows(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range rows {
			if row, err := report.ParseKey(k); err == nil {
				got[row.Step] = [2]int64{v.TreatedDown, v.HeldDown}
			}
		}
	}
	if _, ok := got["arrival"]; !ok {
		t.Fatal("the arrival step's row is missing")
	}
	if got["next"] != [2]int64{1, 0} || got["care"] != [2]int64{0, 1} || got["arrival"] != [2]int64{0, 0} {
		t.Errorf("moves down by step (treated, held out) %v: want next 1 treated, care 1 held out, arrival (40 days before) none", got)
	}
	dec, _, err := r.Store.ReportRows(ctx, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if m := dec[report.MoveKey("new", "new:lapsed")]; m.Moved != 1 {
		t.Errorf("December's matrix: %+v", dec)
	}
}
