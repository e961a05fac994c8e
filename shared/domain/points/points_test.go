package points_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/templates"
)

var known = points.Known{Rank: func(id string) bool { return id == "royal" || id == "new" }, Template: func(string) bool { return true }}

func parse(t *testing.T, src string) *points.Config {
	t.Helper()
	c, err := points.ParseConfig("points.yaml", []byte(src), known)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const base = `
earn: {yen: 100, points: 1, rounding: %s}
ranks: {royal: "1.5", "royal:lapsed": "0.5"}
expiry: {months: 1}
reminder: {days_before: 7}
`

func TestEarnedFollowsRateRankAndRounding(t *testing.T) {
	tests := []struct {
		name     string
		rounding string
		rank     string
		paid     int64
		want     int64
	}{
		{"floor drops the fraction", "floor", "new", 1299, 12},
		{"ceil takes the next point", "ceil", "new", 1201, 13},
		{"round goes half up", "round", "new", 1250, 13},
		{"round keeps below half", "round", "new", 1249, 12},
		{"a rank's multiplier", "floor", "royal", 1000, 15},
		{"the lapsed side's own multiplier", "floor", "royal:lapsed", 1000, 5},
		{"a rank left out earns ×1", "floor", "prospect", 1000, 10},
		{"nothing paid earns nothing", "ceil", "royal", 0, 0},
		{"a rank unknown to the card earns ×1", "floor", "x", 1000, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parse(t, strings.Replace(base, "%s", tt.rounding, 1))
			if got := c.Earned(rank.Parse(tt.rank), tt.paid); got != tt.want {
				t.Errorf("Earned(%s, %d) = %d, want %d", tt.rank, tt.paid, got, tt.want)
			}
		})
	}
	c := parse(t, "earn: {yen: 1, points: 1, rounding: floor}\nranks: {new: \"0.7\"}\nexpiry: {days: 30}\n")
	if got := c.Earned(rank.Parse("new"), 1000); got != 700 {
		t.Errorf("0.7 × 1000 = %d, want 700 (decimal multipliers are exact)", got)
	}
	royalLapsedFallsBack := parse(t, "earn: {yen: 100, points: 1, rounding: floor}\nranks: {royal: 2}\nexpiry: {days: 30}\n")
	if got := royalLapsedFallsBack.Earned(rank.Parse("royal:lapsed"), 1000); got != 20 {
		t.Errorf("royal:lapsed without its own multiplier earned %d, want royal's 20", got)
	}
}

func TestBadPointsYAMLIsRefusedNamingTheField(t *testing.T) {
	tests := map[string]struct{ src, want string }{
		"not YAML":          {"earn: [", "points.yaml"},
		"unknown key":       {"earn: {yen: 100, points: 1, rounding: floor, bonus: 3}\nexpiry: {months: 12}", "bonus"},
		"negative rate":     {"earn: {yen: 100, points: -1, rounding: floor}\nexpiry: {months: 12}", "earn.points"},
		"no yen":            {"earn: {points: 1, rounding: floor}\nexpiry: {months: 12}", "earn.yen"},
		"unknown rounding":  {"earn: {yen: 100, points: 1, rounding: bankers}\nexpiry: {months: 12}", "earn.rounding"},
		"unknown rank":      {"earn: {yen: 100, points: 1, rounding: floor}\nranks: {vip: 2}\nexpiry: {months: 12}", "ranks.vip"},
		"negative multiple": {"earn: {yen: 100, points: 1, rounding: floor}\nranks: {royal: -2}\nexpiry: {months: 12}", "ranks.royal"},
		"no expiry":         {"earn: {yen: 100, points: 1, rounding: floor}", "expiry"},
		"both expiries":     {"earn: {yen: 100, points: 1, rounding: floor}\nexpiry: {months: 12, days: 3}", "expiry"},
		"reminder too soon": {"earn: {yen: 100, points: 1, rounding: floor}\nexpiry: {days: 10}\nreminder: {days_before: 10}", "reminder.days_before"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := points.ParseConfig("templates/points.yaml", []byte(tt.src), known)
			if err == nil || !strings.Contains(err.Error(), "templates/points.yaml") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one naming templates/points.yaml and %q", err, tt.want)
			}
		})
	}
}

func TestShippedPointsYAMLParses(t *testing.T) {
	src, err := templates.FS.ReadFile("points.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := points.ParseConfig("templates/points.yaml", src, points.Known{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Earned(rank.Parse("royal"), 10000) != 200 || c.RemindDaysBefore == 0 {
		t.Errorf("shipped config = %+v", c)
	}
}

func TestUntilIsInTheCustomersZoneAndClampsToTheMonthsEnd(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	la, _ := time.LoadLocation("America/Los_Angeles")
	earned := time.Date(2026, 1, 31, 15, 30, 0, 0, time.UTC) // 1 February 00:30 in Tokyo, 31 January 07:30 in Los Angeles
	monthly := parse(t, strings.Replace(base, "%s", "floor", 1))
	if got := monthly.Until(earned, tokyo).String(); got != "2026-03-01" {
		t.Errorf("Tokyo: until %s, want 2026-03-01 (earned 1 February there)", got)
	}
	if got := monthly.Until(earned, la).String(); got != "2026-02-28" {
		t.Errorf("Los Angeles: until %s, want 2026-02-28 (earned 31 January there; February is shorter)", got)
	}
	for _, tt := range []struct{ from, want string }{{"2024-01-31", "2024-02-29"}, {"2026-12-15", "2027-01-15"}, {"2026-03-31", "2026-04-30"}} {
		d, _ := plan.ParseDay(tt.from)
		if got := points.AddMonths(d, 1).String(); got != tt.want {
			t.Errorf("%s + 1 month = %s, want %s", tt.from, got, tt.want)
		}
	}
	yearly := parse(t, "earn: {yen: 100, points: 1, rounding: floor}\nexpiry: {months: 12}\n")
	if got := yearly.Until(earned, tokyo).String(); got != "2027-02-01" {
		t.Errorf("12 months in Tokyo: until %s, want 2027-02-01", got)
	}
}

func TestRedemptionAndExpiryTakeTheOldestFirst(t *testing.T) {
	c := parse(t, strings.Replace(base, "%s", "floor", 1))
	var p customer.Points
	day := func(s string) plan.Day { d, _ := plan.ParseDay(s); return d }
	points.Add(&p, 100, day("2026-03-31"))
	points.Add(&p, 50, day("2026-02-28"))
	points.Add(&p, 25, day("2026-02-28")) // same day: one lot
	if len(p.Lots) != 2 || p.Lots[0] != (customer.PointsLot{Until: "2026-02-28", Points: 75}) || p.Balance != 175 {
		t.Fatalf("card = %+v", p)
	}
	if err := points.Take(&p, 200); !errors.Is(err, points.ErrInsufficient) || p.Balance != 175 {
		t.Fatalf("taking 200 of 175: %v, card %+v; want refused and unchanged", err, p)
	}
	if err := points.Take(&p, 80); err != nil {
		t.Fatal(err)
	}
	if len(p.Lots) != 1 || p.Lots[0].Points != 95 || p.Balance != 95 {
		t.Fatalf("after spending 80: %+v, want the February lot spent and 5 taken from March's", p)
	}
	cust := &customer.Customer{ID: "C1", Points: p}
	points.Add(&cust.Points, 10, day("2026-04-30"))
	c.Settle(&cust.Points)
	if cust.Points.ExpireOn != "2026-04-01" || cust.Points.RemindOn != "2026-03-24" {
		t.Errorf("dates = %+v, want expiry 2026-04-01 and reminder 7 days before the last day", cust.Points)
	}
	if got := c.ExpireOn(cust, day("2026-03-31"), time.Time{}); len(got) != 0 {
		t.Errorf("on the last valid day %d entries expired, want none", len(got))
	}
	got := c.ExpireOn(cust, day("2026-04-01"), time.Time{})
	if len(got) != 1 || got[0].Points != -95 || got[0].Balance != 10 || got[0].ID != "expire:2026-03-31:v0" || cust.Points.Balance != 10 {
		t.Errorf("expired %+v, card %+v; want the 95 left of March's lot only", got, cust.Points)
	}
}

func TestOrderSpendsThenEarnsOnWhatWasPaid(t *testing.T) {
	c := parse(t, strings.Replace(base, "%s", "floor", 1))
	cust := &customer.Customer{ID: "C1"}
	at := time.Date(2026, 1, 31, 15, 30, 0, 0, time.UTC)
	earned, es, err := c.Order(cust, rank.Parse("new"), customer.Order{ID: "O1", Total: 5000, OrderedAt: at})
	if err != nil || earned != 50 || len(es) != 1 || es[0].Until != "2026-03-01" {
		t.Fatalf("first order: %d %+v %v", earned, es, err)
	}
	_, _, err = c.Order(cust, rank.Parse("new"), customer.Order{ID: "O2", Total: 5000, PointsUsed: 51, OrderedAt: at})
	var invalid *domain.InvalidError
	if !errors.Is(err, points.ErrInsufficient) || !errors.As(err, &invalid) || cust.Points.Balance != 50 {
		t.Fatalf("using 51 of 50: %v (balance %d); want an InvalidError, nothing spent", err, cust.Points.Balance)
	}
	earned, es, err = c.Order(cust, rank.Parse("new"), customer.Order{ID: "O3", Total: 1050, PointsUsed: 50, OrderedAt: at})
	if err != nil || earned != 10 || len(es) != 2 || es[0].Reason != points.Redeem || es[0].Balance != 0 || es[1].Balance != 10 {
		t.Errorf("paying 1000 after 50 points: earned %d, entries %+v, %v", earned, es, err)
	}
}

// An order cannot spend points past their last valid day (in the customer's
// zone), even before the daily run has expired them: they expire with it.
func TestAnOrderCannotSpendExpiredPoints(t *testing.T) {
	c := parse(t, strings.Replace(base, "%s", "floor", 1))
	day := func(s string) plan.Day { d, _ := plan.ParseDay(s); return d }
	cust := &customer.Customer{ID: "C1", Version: 3}
	points.Add(&cust.Points, 60, day("2026-02-28"))
	points.Add(&cust.Points, 40, day("2026-04-30"))
	// 1 March 00:30 in Tokyo (still 28 February in UTC): the February lot is gone.
	at := time.Date(2026, 2, 28, 15, 30, 0, 0, time.UTC)
	if _, _, err := c.Order(cust, rank.Parse("new"), customer.Order{ID: "O1", Total: 5000, PointsUsed: 50, OrderedAt: at}); !errors.Is(err, points.ErrInsufficient) {
		t.Fatalf("spending 50 when 40 are still valid: %v", err)
	}
	cust = &customer.Customer{ID: "C1", Version: 3}
	points.Add(&cust.Points, 60, day("2026-02-28"))
	points.Add(&cust.Points, 40, day("2026-04-30"))
	_, es, err := c.Order(cust, rank.Parse("new"), customer.Order{ID: "O2", Total: 5000, PointsUsed: 30, OrderedAt: at})
	if err != nil || len(es) != 3 || es[0].Reason != points.Expire || es[0].Points != -60 || es[1].Reason != points.Redeem || es[1].Balance != 10 {
		t.Fatalf("entries %+v %v; want the February lot expired, then 30 of April's spent", es, err)
	}
}

// Years of imported history expire a bounded number of lots per write; the
// card's expiry date stays in the past, so the next visit takes the rest.
func TestExpiryIsBoundedPerWrite(t *testing.T) {
	c := parse(t, strings.Replace(base, "%s", "floor", 1))
	cust := &customer.Customer{ID: "C1"}
	start, _ := plan.ParseDay("2020-01-01")
	for i := range points.MaxExpiredAtOnce + 15 {
		points.Add(&cust.Points, 1, start.AddDays(i))
	}
	today, _ := plan.ParseDay("2026-12-01")
	if got := c.ExpireOn(cust, today, time.Time{}); len(got) != points.MaxExpiredAtOnce {
		t.Fatalf("%d lots expired at once, want %d", len(got), points.MaxExpiredAtOnce)
	}
	if cust.Points.ExpireOn >= today.String() {
		t.Errorf("expire_on %s; want a past date, so the rest come due", cust.Points.ExpireOn)
	}
	if got := c.ExpireOn(cust, today, time.Time{}); len(got) != 15 || cust.Points.Balance != 0 {
		t.Errorf("the next visit expired %d, balance %d; want the last 15, nothing left", len(got), cust.Points.Balance)
	}
}
