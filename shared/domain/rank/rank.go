// Package rank groups customers into ranks (顧客ランク) by marketer-defined rules:
// conditions on spend, purchase count, tenure and recency, first match wins, and
// each rank split into its active and lapsed side.
package rank

import (
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Rank is where a customer stands: a rung of the ladder and whether they lapsed.
type Rank struct {
	ID     string
	Lapsed bool
}

const lapsedSuffix = ":lapsed"

// String is the stored form: "repeater" or "repeater:lapsed".
func (r Rank) String() string {
	if r.Lapsed {
		return r.ID + lapsedSuffix
	}
	return r.ID
}

// Parse reads the stored form written by String.
func Parse(s string) Rank {
	if id, ok := strings.CutSuffix(s, lapsedSuffix); ok {
		return Rank{ID: id, Lapsed: true}
	}
	return Rank{ID: s}
}

// Facts are the numbers rank conditions are written against.
type Facts struct {
	TotalSpend            int64
	PurchaseCount         int64
	TenureDays            int64
	DaysSinceLastPurchase int64 // days since signup when the customer never bought
	Referrals             int64 // introductions credited to the customer (口コミ)
}

// FactsOf computes a customer's facts on the given day.
func FactsOf(c *customer.Customer, now time.Time) Facts {
	start := c.SignedUpAt
	if !c.Purchases.First.IsZero() && (start.IsZero() || c.Purchases.First.Before(start)) {
		start = c.Purchases.First
	}
	last := c.Purchases.Last
	if last.IsZero() {
		last = start
	}
	return Facts{
		TotalSpend:            c.Purchases.TotalSpend,
		PurchaseCount:         int64(c.Purchases.Count),
		TenureDays:            daysBetween(start, now),
		DaysSinceLastPurchase: daysBetween(last, now),
		Referrals:             int64(c.ReferralCount),
	}
}

func daysBetween(from, to time.Time) int64 {
	if from.IsZero() || to.Before(from) {
		return 0
	}
	return int64(to.Sub(from) / (24 * time.Hour))
}

// Evaluate returns the rank of a customer on the given day: the first rule that
// matches, on its lapsed side when the last purchase is older than the rule allows.
func Evaluate(rules *Rules, c *customer.Customer, now time.Time) Rank {
	f := FactsOf(c, now)
	for _, r := range rules.Ranks {
		if r.matches(f) {
			return Rank{ID: r.ID, Lapsed: r.LapsedAfterDays > 0 && f.DaysSinceLastPurchase > r.LapsedAfterDays}
		}
	}
	// Load guarantees a catch-all last rank, so this is unreachable for loaded rules.
	last := rules.Ranks[len(rules.Ranks)-1]
	return Rank{ID: last.ID}
}
