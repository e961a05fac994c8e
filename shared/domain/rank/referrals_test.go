package rank_test

import (
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

const ambassadorRules = `
ranks:
  - id: ambassador
    label: アンバサダー
    when:
      - referrals >= 3
  - id: new
    when:
      - purchase_count >= 1
  - id: prospect
`

func TestReferralsCondition(t *testing.T) {
	rules, err := rank.ParseRules("ranks.yaml", []byte(ambassadorRules))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		referrals int
		want      string
	}{
		{"two introductions are not yet an ambassador", 2, "new"},
		{"three introductions make an ambassador", 3, "ambassador"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &customer.Customer{SignedUpAt: now, ReferralCount: tt.referrals, Purchases: customer.Purchases{Count: 1, First: now, Last: now}}
			if got := rank.Evaluate(rules, c, now).ID; got != tt.want {
				t.Errorf("rank = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReferralsConditionRefusals(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"a misspelt field", strings.Replace(ambassadorRules, "referrals >= 3", "referals >= 3", 1), `unknown field "referals"`},
		{"no number", strings.Replace(ambassadorRules, "referrals >= 3", "referrals >= many", 1), "want `<field> <op> <number>`"},
		{"a rank nobody reaches", strings.Replace(ambassadorRules, "  - id: new\n    when:\n      - purchase_count >= 1\n",
			"  - id: new\n    when:\n      - referrals >= 5\n", 1), `rank "new" can never match`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rank.ParseRules("ranks.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
