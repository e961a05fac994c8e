package daily

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"sort"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/plan"
)

// Picker reads the customers of a rank for the surprise draw.
type Picker interface {
	CustomersOfRank(ctx context.Context, rank string) ([]*customer.Customer, int, error)
}

// surprises draws this month's surprise recipients on the configured day:
// Share of each rank's active customers who had none within NotWithinDays.
// The draw hashes the customer and the month, so a repeated run picks the
// same people and each month picks others.
func (r *Runner) surprises(ctx context.Context, today plan.Day, now time.Time, rep *Report) ([]*customer.Customer, error) {
	sp := r.Plans.Surprise
	picker, ok := r.Ledger.(Picker)
	if sp.Share <= 0 || today.D != sp.DayOfMonth || !ok {
		return nil, nil
	}
	month := today.String()[:7]
	var picked []*customer.Customer
	for _, rk := range sp.Ranks {
		cs, read, err := picker.CustomersOfRank(ctx, rk)
		if err != nil {
			return nil, err
		}
		rep.ItemsRead += read
		want := int(math.Ceil(sp.Share * float64(len(cs))))
		var eligible []*customer.Customer
		for _, c := range cs {
			if c.LastSurpriseAt.IsZero() || now.Sub(c.LastSurpriseAt) > time.Duration(sp.NotWithinDays)*24*time.Hour ||
				plan.DayOf(c.LastSurpriseAt, c.Location()).String()[:7] == month { // this month's pick, re-run
				eligible = append(eligible, c)
			}
		}
		sort.Slice(eligible, func(i, j int) bool { return draw(eligible[i].ID, month) < draw(eligible[j].ID, month) })
		picked = append(picked, eligible[:min(want, len(eligible))]...)
	}
	return picked, nil
}

// draw is a customer's lot for a month.
func draw(customerID, month string) uint64 {
	h := sha256.Sum256([]byte(customerID + "|" + month))
	return binary.BigEndian.Uint64(h[:8])
}
