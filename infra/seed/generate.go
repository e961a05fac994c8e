package seed

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Ledger generates n customers as a shop of that size might have them, the
// same for the same seed: about 40% prospects, then ever fewer buyers the more
// they bought; birthdays spread over the year for 70% of them; a quarter on
// LINE only, a quarter on email only, half on both. Ranks are left to the caller.
func Ledger(n int, seed uint64, now time.Time) []*customer.Customer {
	out := make([]*customer.Customer, 0, n)
	_ = Generate(n, seed, now, n, func(cs []*customer.Customer) error {
		out = append(out, cs...)
		return nil
	})
	return out
}

// Generate makes the same ledger as Ledger, chunk customers at a time handed
// to fn, so a million never need be in memory at once.
func Generate(n int, seed uint64, now time.Time, chunk int, fn func([]*customer.Customer) error) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ago := func(maxDays int) time.Time {
		return now.Add(-time.Duration(r.IntN(maxDays*24*60)) * time.Minute)
	}
	out := make([]*customer.Customer, 0, min(n, max(1, chunk)))
	for i := range n {
		c := &customer.Customer{ID: fmt.Sprintf("G%07d", i), Name: fmt.Sprintf("顧客 %d", i), SignedUpAt: ago(730)}
		switch v := r.IntN(4); {
		case v == 0:
			c.LINEUserID, c.Consent.LINE, c.FriendAddedAt = fmt.Sprintf("U%032x", i), true, c.SignedUpAt
		case v == 1:
			c.Email, c.Consent.Email = fmt.Sprintf("g%07d@example.jp", i), true
		default:
			c.LINEUserID, c.Consent.LINE, c.FriendAddedAt = fmt.Sprintf("U%032x", i), true, c.SignedUpAt
			c.Email, c.Consent.Email = fmt.Sprintf("g%07d@example.jp", i), true
		}
		if r.IntN(10) < 7 {
			bd := time.Date(1950+r.IntN(55), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(366))
			_ = c.SetBirthday(bd.Format(time.DateOnly))
		}
		// Purchases: 40% none, then a long tail.
		if count := purchases(r); count > 0 {
			first := c.SignedUpAt
			last := first.Add(time.Duration(r.Int64N(int64(now.Sub(first)) + 1)))
			c.Purchases = customer.Purchases{Count: count, TotalSpend: int64(count) * int64(3000+r.IntN(12000)), First: first, Last: last}
		}
		if out = append(out, c); len(out) == cap(out) || i == n-1 {
			if err := fn(out); err != nil {
				return err
			}
			out = make([]*customer.Customer, 0, cap(out))
		}
	}
	return nil
}

func purchases(r *rand.Rand) int {
	switch p := r.IntN(100); {
	case p < 40:
		return 0
	case p < 65:
		return 1
	case p < 80:
		return 2
	case p < 90:
		return 3 + r.IntN(2)
	case p < 96:
		return 5 + r.IntN(3)
	default:
		return 8 + r.IntN(12)
	}
}
