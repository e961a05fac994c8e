package plan_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

func defaultPlans(t *testing.T) *plan.Plans {
	t.Helper()
	src, err := os.ReadFile("../../../templates/plans.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := plan.Parse("templates/plans.yaml", src, plan.Known{})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

var tokyo, _ = time.LoadLocation("Asia/Tokyo")

func day(s string) plan.Day {
	d, err := plan.ParseDay(s)
	if err != nil {
		panic(err)
	}
	return d
}

// at is 10:00 Tokyo on a date.
func at(s string) time.Time { return day(s).At(10, tokyo) }

func steps(ds []plan.Due) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Plan+"/"+d.Step.ID)
	}
	return strings.Join(out, ",")
}

func TestDueOn(t *testing.T) {
	ps := defaultPlans(t)
	prospect := func() *customer.Customer {
		return &customer.Customer{ID: "P1", Rank: "prospect", SignedUpAt: at("2026-12-01"), RankSince: at("2026-12-01")}
	}
	newbie := &customer.Customer{ID: "N1", Rank: "new", SignedUpAt: at("2026-11-01"),
		Purchases: customer.Purchases{Count: 1, First: at("2026-12-01"), Last: at("2026-12-01")}}
	lapsed := &customer.Customer{ID: "L1", Rank: "repeater:lapsed", RankSince: at("2026-12-10"),
		Purchases: customer.Purchases{Count: 3, First: at("2025-01-01"), Last: at("2026-08-01")}}
	lapsedEarly := &customer.Customer{ID: "L2", Rank: "early:lapsed", RankSince: at("2026-12-10"),
		Purchases: customer.Purchases{Count: 2, First: at("2025-01-01"), Last: at("2026-08-01")}}
	cameBack := &customer.Customer{ID: "L3", Rank: "repeater:lapsed", RankSince: at("2026-12-10"),
		Purchases: customer.Purchases{Count: 4, First: at("2025-01-01"), Last: at("2026-12-20")}}
	bought := prospect()
	bought.Purchases = customer.Purchases{Count: 1, First: at("2026-12-02"), Last: at("2026-12-02")}
	lateNight := prospect()
	lateNight.SignedUpAt = time.Date(2026, 12, 1, 23, 30, 0, 0, tokyo) // 14:30 UTC: still Dec 1 in Tokyo

	tests := []struct {
		name string
		c    *customer.Customer
		day  string
		want string
	}{
		{"prospect day 0: welcome", prospect(), "2026-12-01", "prospect/welcome"},
		{"prospect day 3: tips", prospect(), "2026-12-04", "prospect/tips"},
		{"prospect day 7: stories", prospect(), "2026-12-08", "prospect/stories"},
		{"prospect day 5: nothing", prospect(), "2026-12-06", ""},
		{"a purchase after signup skips tips", bought, "2026-12-04", ""},
		{"days count in the customer's zone", lateNight, "2026-12-04", "prospect/tips"},
		{"new customer, three days after the first purchase", newbie, "2026-12-04", "new/arrival"},
		{"a lapsed repeater follows the repeater's own lapsed plan", lapsed, "2026-12-10", "repeater:lapsed/owner-note"},
		{"lapsed repeater, 30 days on", lapsed, "2027-01-09", "repeater:lapsed/come-back"},
		{"a lapsed repeater who bought again gets no come-back", cameBack, "2027-01-09", ""},
		{"a rank without a lapsed plan of its own follows lapsed", lapsedEarly, "2026-12-10", "lapsed/come-back-1"},
		{"lapsed, 30 days on", lapsedEarly, "2027-01-09", "lapsed/come-back-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := steps(ps.DueOn(tt.c, day(tt.day), day(tt.day))); got != tt.want {
				t.Errorf("due = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCatchUpAndKeys(t *testing.T) {
	ps := defaultPlans(t)
	c := &customer.Customer{ID: "P1", Rank: "prospect", SignedUpAt: at("2026-12-01")}
	// The run of Dec 4 did not happen; Dec 5 catches up, with the same key.
	missed := ps.DueOn(c, day("2026-12-03"), day("2026-12-05"))
	onTime := ps.DueOn(c, day("2026-12-04"), day("2026-12-04"))
	if len(missed) != 1 || len(onTime) != 1 || missed[0].Key != onTime[0].Key {
		t.Fatalf("catch-up %v vs on time %v: want the same single step and key", missed, onTime)
	}
	if due := ps.DueOn(c, day("2026-12-06"), day("2026-12-08")); len(due) != 1 || due[0].Step.ID != "stories" {
		t.Error("catch-up window must not resend older steps beyond it")
	}
	// A new purchase restarts last_purchase steps: a new anchor, a new key.
	r := &customer.Customer{ID: "R1", Rank: "repeater", Purchases: customer.Purchases{Count: 3, Last: at("2026-11-01")}}
	k1 := ps.DueOn(r, day("2026-12-01"), day("2026-12-01"))[0].Key
	r.Purchases.Last = at("2026-11-20")
	k2 := ps.DueOn(r, day("2026-12-20"), day("2026-12-20"))[0].Key
	if k1 == k2 {
		t.Error("the same step after a new purchase must have a new key")
	}
}

func TestNextDue(t *testing.T) {
	ps := defaultPlans(t)
	c := &customer.Customer{ID: "P1", Rank: "prospect", SignedUpAt: at("2026-12-01")}
	for today, want := range map[string]string{"2026-11-30": "2026-12-01", "2026-12-01": "2026-12-04", "2026-12-04": "2026-12-08"} {
		if got, ok := ps.NextDue(c, day(today)); !ok || got.String() != want {
			t.Errorf("after %s: next due %v (%v), want %s", today, got, ok, want)
		}
	}
	if _, ok := ps.NextDue(c, day("2026-12-08")); ok {
		t.Error("after the last step nothing is due")
	}
}

func TestParseRejects(t *testing.T) {
	known := plan.Known{
		Rank:     func(id string) bool { return id == "new" || id == "royal" },
		Template: func(dir string) bool { return dir == "step/new-arrival" || dir == "step/new-care" || dir == "lapsed/x" },
		Question: func(id string) bool { return id == "why-stopped" },
	}
	good := "version: 1\nplans:\n  new:\n    - step: arrival\n      anchor: first_purchase\n      days: 3\n      template: step/new-arrival\n"
	if _, err := plan.Parse("plans.yaml", []byte(good), known); err != nil {
		t.Fatalf("good plan rejected: %v", err)
	}
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"unknown rank", strings.Replace(good, "  new:", "  newbie:", 1), 3, `no rank "newbie"`},
		{"unknown anchor", strings.Replace(good, "first_purchase", "first_order", 1), 4, `anchor "first_order"`},
		{"negative days", strings.Replace(good, "days: 3", "days: -3", 1), 4, "days"},
		{"missing template", strings.Replace(good, "step/new-arrival", "step/new-arival", 1), 4, "no template folder templates/step/new-arival"},
		{"thank-you as a step", strings.Replace(good, "step/new-arrival", "thank-you/new", 1), 4, "not plan steps"},
		{"unknown key in a step", strings.Replace(good, "days: 3", "days: 3\n      delay: 2", 1), 7, "field delay not found"},
		{"a question feedback.yaml lacks", good + "      ask: why-not\n", 4, `ask "why-not": no such question`},
		{"bad channel", strings.Replace(good, "days: 3", "days: 3\n      channel: fax", 1), 4, `channel "fax"`},
		{"no version", strings.Replace(good, "version: 1\n", "", 1), 1, "version"},
		{"duplicate step", good + "    - step: arrival\n      anchor: first_purchase\n      days: 4\n      template: step/new-arrival\n", 8, "defined twice"},
		{"a 100% holdout", good + "      holdout: 100%\n", 4, "nobody would get the message"},
		{"a holdout that is not a share", good + "      holdout: lots\n", 8, "want a percentage"},
		{"weights that do not add up", good + "      variants:\n        - {template: step/new-arrival, weight: 60}\n        - {template: step/new-care, weight: 30}\n", 4, "add up to 90"},
		{"a variant that does not exist", good + "      variants:\n        - {template: step/new-arrival, weight: 50}\n        - {template: step/none, weight: 50}\n", 4, "does not exist"},
		{"a variant of another kind", good + "      variants:\n        - {template: step/new-arrival, weight: 50}\n        - {template: lapsed/x, weight: 50}\n", 4, "not a step template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plan.Parse("templates/plans.yaml", []byte(tt.src), known)
			var ve *plan.ValidationError
			if !errors.As(err, &ve) || ve.Line != tt.line || !strings.Contains(ve.Msg, tt.msg) {
				t.Errorf("err = %v, want templates/plans.yaml:%d: …%s…", err, tt.line, tt.msg)
			}
		})
	}
}

func TestSurpriseConfig(t *testing.T) {
	ps := defaultPlans(t)
	if sp := ps.Surprise; sp.Share != 0.05 || sp.DayOfMonth != 1 || len(sp.Ranks) != 2 || sp.NotWithinDays != 180 {
		t.Errorf("surprise = %+v", sp)
	}
	base := "version: 1\nplans:\n  new: []\nsurprise:\n  ranks: [royal]\n  share: %s\n  day_of_month: %s\n"
	for _, bad := range [][2]string{{"1.5", "1"}, {"0.05", "31"}, {"-0.1", "1"}} {
		src := fmt.Sprintf(base, bad[0], bad[1])
		if _, err := plan.Parse("plans.yaml", []byte(src), plan.Known{}); err == nil {
			t.Errorf("accepted share %s on day %s", bad[0], bad[1])
		}
	}
}

func TestAVersionSaysWhatItTests(t *testing.T) {
	src := "version: 3\nhypothesis: お手入れ案内で2回目の購入が増える\nstarted: 2026-11-01\nplans:\n  new:\n    - step: arrival\n      anchor: first_purchase\n      days: 3\n      template: step/new-arrival\n"
	ps, err := plan.Parse("plans.yaml", []byte(src), plan.Known{})
	if err != nil {
		t.Fatal(err)
	}
	if ps.Version != 3 || ps.Hypothesis != "お手入れ案内で2回目の購入が増える" || ps.Started.String() != "2026-11-01" {
		t.Errorf("%d %q %s", ps.Version, ps.Hypothesis, ps.Started)
	}
	if _, err := plan.Parse("plans.yaml", []byte(strings.Replace(src, "2026-11-01", "November", 1)), plan.Known{}); err == nil {
		t.Error("a start that is not a date was accepted")
	}
}

// A whole plan may hold out a share of its customers: the same customers
// from every step of the version, with a reason that says so; the step's own
// holdout draws among the rest. A 100% plan holdout is refused, above 50% warned.
func TestAWholePlanHoldsOutTheSameCustomersFromEveryStep(t *testing.T) {
	src := "version: 2\nplans:\n  new:\n    holdout: 20%\n    steps:\n" +
		"      - {step: arrival, anchor: first_purchase, days: 3, template: step/new-arrival}\n" +
		"      - {step: care, anchor: first_purchase, days: 14, template: step/new-care, holdout: 10%}\n"
	ps, err := plan.Parse("plans.yaml", []byte(src), plan.Known{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ps.For(rank.Rank{ID: "new"})
	held, heldCare, n := 0, 0, 2000
	for i := range n {
		id := fmt.Sprintf("C%05d", i)
		a, why := ps.Lot(id, plan.Due{Plan: "new", Step: p.Steps[0]})
		c, _ := ps.Lot(id, plan.Due{Plan: "new", Step: p.Steps[1]})
		if a.HeldOut {
			held++
			if !c.HeldOut || !strings.Contains(why, "plan new v2") {
				t.Fatalf("%s held out of the plan at arrival (%q) but not at care", id, why)
			}
		}
		if c.HeldOut {
			heldCare++
		}
	}
	if held < n*16/100 || held > n*24/100 || heldCare < held+n*5/100 {
		t.Errorf("held out of the plan %d of %d, of care %d", held, n, heldCare)
	}
	if _, err := plan.Parse("plans.yaml", []byte(strings.Replace(src, "holdout: 20%", "holdout: 100%", 1)), plan.Known{}); err == nil {
		t.Error("a plan holding out everyone was accepted")
	}
	warned, err := plan.Parse("plans.yaml", []byte(strings.Replace(src, "holdout: 20%", "holdout: 60%", 1)), plan.Known{})
	if err != nil || len(warned.Warnings()) == 0 {
		t.Errorf("a 60%% plan holdout: %v, warnings %v", err, warned.Warnings())
	}
}
