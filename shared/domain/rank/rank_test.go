package rank_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

func defaultRules(t *testing.T) *rank.Rules {
	t.Helper()
	src, err := os.ReadFile("../../../templates/ranks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := rank.ParseRules("templates/ranks.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

var now = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }

func TestEvaluateDefaultLadder(t *testing.T) {
	rules := defaultRules(t)
	tests := []struct {
		name  string
		spend int64
		count int
		last  int // days since the last purchase; -1: never bought
		want  string
	}{
		{"never bought: prospect", 0, 0, -1, "prospect"},
		{"one purchase: new", 3800, 1, 3, "new"},
		{"second purchase: early", 9000, 2, 10, "early"},
		{"third purchase: repeater", 20000, 3, 10, "repeater"},
		{"five purchases over 50,000 yen: semi-royal", 51900, 5, 0, "semi-royal"},
		{"five purchases under 50,000 yen: still repeater", 49999, 5, 0, "repeater"},
		{"eight purchases over 100,000 yen: royal", 110700, 10, 0, "royal"},
		{"high spend but few purchases: not royal", 300000, 2, 0, "early"},
		{"royal lapsed after 181 days without purchase", 110700, 10, 181, "royal:lapsed"},
		{"royal still active at 180 days", 110700, 10, 180, "royal"},
		{"new customer lapsed after 91 days", 3800, 1, 91, "new:lapsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &customer.Customer{SignedUpAt: daysAgo(400), Purchases: customer.Purchases{TotalSpend: tt.spend, Count: tt.count}}
			if tt.last >= 0 {
				c.Purchases.First, c.Purchases.Last = daysAgo(400), daysAgo(tt.last)
			} else {
				c.SignedUpAt = daysAgo(5)
			}
			if got := rank.Evaluate(rules, c, now).String(); got != tt.want {
				t.Errorf("rank = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTenureCondition(t *testing.T) {
	rules, err := rank.ParseRules("r.yaml", []byte("ranks:\n  - id: veteran\n    when: [tenure_days >= 365]\n  - id: other\n"))
	if err != nil {
		t.Fatal(err)
	}
	old := &customer.Customer{SignedUpAt: daysAgo(366)}
	young := &customer.Customer{SignedUpAt: daysAgo(10)}
	if got := rank.Evaluate(rules, old, now).ID; got != "veteran" {
		t.Errorf("366 days of tenure: rank %q, want veteran", got)
	}
	if got := rank.Evaluate(rules, young, now).ID; got != "other" {
		t.Errorf("10 days of tenure: rank %q, want other", got)
	}
}

func TestParseRulesRejects(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"not YAML", "ranks:\n  - id: a\n    label: [x\n  - id: b\n", 2, "not valid YAML"},
		{"unknown field in a condition", "ranks:\n  - id: a\n    when:\n      - total_spent >= 5\n  - id: b\n", 4, `unknown field "total_spent"`},
		{"malformed condition", "ranks:\n  - id: a\n    when:\n      - total_spend is big\n  - id: b\n", 4, "want `<field> <op> <number>`"},
		{"unknown key", "ranks:\n  - id: a\n    colour: gold\n", 3, `unknown key "colour"`},
		{"no catch-all leaves customers without a rank", "ranks:\n  - id: a\n    when: [purchase_count >= 1]\n", 2, "must have no `when` conditions"},
		{"unreachable rank after a catch-all", "ranks:\n  - id: a\n  - id: b\n", 3, "can never match"},
		{"a rank shadowed by a wider one above it", "ranks:\n  - id: royal\n    when: [purchase_count >= 1]\n  - id: early\n    when: [purchase_count >= 2]\n  - id: prospect\n",
			4, `rank "early" can never match: every customer it describes matches rank "royal"`},
		{"a rank shadowed by two above it together", "ranks:\n  - id: big\n    when: [total_spend >= 100]\n  - id: small\n    when: [total_spend < 100]\n" +
			"  - id: often\n    when: [purchase_count >= 5]\n  - id: rest\n", 6, `rank "often" can never match`},
		{"duplicate id", "ranks:\n  - id: a\n    when: [purchase_count >= 1]\n  - id: a\n", 4, "defined twice"},
		{"negative lapse", "ranks:\n  - id: a\n    lapsed_after_days: -3\n", 3, "lapsed_after_days"},
		{"empty", "", 1, "ranks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rank.ParseRules("templates/ranks.yaml", []byte(tt.src))
			var ve *rank.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if ve.File != "templates/ranks.yaml" || ve.Line != tt.line || !strings.Contains(ve.Msg, tt.msg) {
				t.Errorf("err = %q, want templates/ranks.yaml:%d: …%s…", err, tt.line, tt.msg)
			}
		})
	}
}

func TestParseKeepsLapsedSide(t *testing.T) {
	for _, s := range []string{"royal", "royal:lapsed", "semi-royal:lapsed"} {
		if got := rank.Parse(s).String(); got != s {
			t.Errorf("Parse(%q).String() = %q", s, got)
		}
	}
}

func TestDirection(t *testing.T) {
	rules := &rank.Rules{Ranks: []rank.Rule{{ID: "royal"}, {ID: "repeater"}, {ID: "new"}}}
	for _, c := range []struct {
		from, to string
		want     int
	}{
		{"new", "repeater", 1},
		{"repeater", "repeater:lapsed", -1},
		{"royal:lapsed", "royal", 1},
		{"royal:lapsed", "repeater", -1},
		{"new", "new", 0},
		{"gone", "new", 1},
	} {
		if got := rules.Direction(rank.Parse(c.from), rank.Parse(c.to)); got != c.want {
			t.Errorf("%s → %s: %d, want %d", c.from, c.to, got, c.want)
		}
	}
}
