package campaign

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/stats"
)

// Test is "test first, then send the winner": the campaign's variants go to
// a stable share of its audience; After later, the variant that did best by
// WinnerBy goes to everyone else.
type Test struct {
	Share    experiment.Share `yaml:"share" dynamodbav:"share"`
	After    time.Duration    `yaml:"after" dynamodbav:"after"`
	WinnerBy Rule             `yaml:"winner_by" dynamodbav:"winner_by"`
}

// Rule is what makes a variant the winner.
type Rule string

// The rules a test can be decided by.
const (
	ByClicks    Rule = "clicks"    // first clicks per message sent
	ByPurchases Rule = "purchases" // repurchases attributed per message sent
)

// MaxTestAfter bounds how long a test may wait for its winner: a week, like
// early access; longer, and the newsletter is old news for the rest.
const MaxTestAfter = 7 * 24 * time.Hour

// Check refuses a test that cannot work, with a clear reason. variants is
// how many variants the campaign names.
func (t *Test) Check(variants int) error {
	switch {
	case variants < 2:
		return fmt.Errorf("test: a test needs two or more variants to compare; name them under variants")
	case t.Share <= 0:
		return fmt.Errorf("test: share %s: nobody would see the variants; want more than 0%%", t.Share)
	case t.Share >= 1:
		return fmt.Errorf("test: share %s: nobody would be left for the winner; want less than 100%% (or no test, to split everyone by weight)", t.Share)
	case t.WinnerBy != ByClicks && t.WinnerBy != ByPurchases:
		return fmt.Errorf("test: winner_by %q: want clicks or purchases", t.WinnerBy)
	case t.After <= 0:
		return fmt.Errorf("test: after: say how long to wait for the winner, e.g. 4h")
	case t.After < time.Hour || t.After > MaxTestAfter:
		// The hourly run decides the winner: less than an hour cannot be kept.
		return fmt.Errorf("test: after %s: want 1h to %dh", t.Wait(), int(MaxTestAfter.Hours()))
	}
	return nil
}

// Wait is After as people write it: "4h", "1h30m".
func (t *Test) Wait() string {
	s := t.After.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Includes reports whether a customer is in the test share of a campaign
// (unit is the campaign's plan): a stable draw, independent of the holdout
// and variant draws.
func (t *Test) Includes(customerID, unit string) bool {
	return experiment.Uniform(unit, customerID, "test") < float64(t.Share)
}

// Result is how one variant did in a test.
type Result struct {
	Template string  `dynamodbav:"template" json:"template"`
	Sent     int64   `dynamodbav:"sent" json:"sent"`
	Hits     int64   `dynamodbav:"hits" json:"hits"` // clicks or purchases, as the rule says
	Rate     float64 `dynamodbav:"rate" json:"rate"`
}

// Winner is a test's decision, kept on the campaign: which variant went to
// the rest, by which rule, and whether the data made it clear.
type Winner struct {
	Template string `dynamodbav:"template" json:"template"`
	By       Rule   `dynamodbav:"by" json:"by"`
	// Clear says the winner did significantly better than the runner-up
	// (the 95% interval of the difference excludes 0). When it did not,
	// the best so far went anyway, as Braze does: the rest must get
	// something, and the best estimate is the least bad guess.
	Clear bool `dynamodbav:"clear" json:"clear"`
	// Diff is the winner's rate minus the runner-up's, with its 95%
	// interval (Newcombe), in rate points (0.05 = five points).
	Diff    float64   `dynamodbav:"diff" json:"diff"`
	Low     float64   `dynamodbav:"ci_low" json:"ci_low"`
	High    float64   `dynamodbav:"ci_high" json:"ci_high"`
	Results []Result  `dynamodbav:"results" json:"results"`
	At      time.Time `dynamodbav:"decided_at" json:"decided_at"`
}

// ChooseWinner decides a test: the variant with the best rate by the rule
// wins (ties go to the variant named first), clearly if it beat the
// runner-up significantly. results holds each template's hits of sent.
func ChooseWinner(by Rule, variants []experiment.Variant, results map[string]stats.Proportion, at time.Time) Winner {
	w := Winner{By: by, At: at}
	for _, v := range variants {
		p := results[v.Template]
		p.K = min(p.K, p.N) // a count that outran its sends (a late event) cannot make a rate above 1
		w.Results = append(w.Results, Result{Template: v.Template, Sent: int64(p.N), Hits: int64(p.K), Rate: p.Rate()})
	}
	ranked := slices.Clone(w.Results)
	slices.SortStableFunc(ranked, func(a, b Result) int {
		switch {
		case a.Rate > b.Rate:
			return -1
		case a.Rate < b.Rate:
			return 1
		}
		return 0
	})
	if len(ranked) == 0 {
		return w
	}
	w.Template = ranked[0].Template
	if len(ranked) < 2 {
		return w
	}
	best, next := ranked[0], ranked[1]
	lift := stats.DiffProportions(stats.Proportion{K: int(best.Hits), N: int(best.Sent)}, stats.Proportion{K: int(next.Hits), N: int(next.Sent)})
	w.Diff, w.Low, w.High = finite(lift.Abs), finite(lift.Low), finite(lift.High)
	w.Clear = lift.Significant && lift.Low > 0
	return w
}

// finite keeps a NaN out of the ledger (DynamoDB refuses it).
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// Verdict says the decision in the owner's words.
func (w *Winner) Verdict() string {
	if w.Template == "" {
		return "no winner: no variant was tested"
	}
	if w.Clear {
		return fmt.Sprintf("winner by %s: %s (%+.1f points over the runner-up, 95%% interval %+.1f to %+.1f)",
			w.By, w.Template, w.Diff*100, w.Low*100, w.High*100)
	}
	return fmt.Sprintf("no clear winner (not significant) by %s: sent the best so far, %s (%+.1f points over the runner-up, 95%% interval %+.1f to %+.1f)",
		w.By, w.Template, w.Diff*100, w.Low*100, w.High*100)
}
